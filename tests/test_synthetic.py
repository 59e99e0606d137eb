"""The synthetic benchmark reproduces the paper's problem (3 seeds): inside joint training the weak modality is
clearly below the same encoder trained alone (linear probe on its frozen features, and its slice of the fused head),
and a model using both modalities well beats either alone. Then each regime of the suite (nbs/01_data.synthetic.ipynb)
shows its defining property on 3 seeds, measured with readouts of the raw inputs rather than full training runs."""
import pytest, torch
from asgml.core import DataBundle, DictDataset, load_config, seed_everything
from asgml.registry import get_dataset
from asgml.data.synthetic import SyntheticConfig, build_synthetic, ceilings, linear_readout_acc, mlp_readout_curve, steps_to
from asgml.hooks import build_method
from asgml.train import Trainer

def only(b: DataBundle, m: str) -> DataBundle:
    keep = lambda ds: DictDataset({m: ds.tensors[m]}, ds.labels)
    return DataBundle(keep(b.train), keep(b.val), keep(b.test), b.n_classes, b.info)

def train(cfg, data) -> Trainer:
    seed_everything(cfg.seed)
    tr = Trainer(cfg, data, build_method("baseline")); tr.fit(progress=False)
    return tr

@torch.no_grad()
def weak_features(tr: Trainer, ds: DictDataset) -> DictDataset:
    tr.model.eval()
    return DictDataset({"weak": tr.model.encoders["weak"](ds.tensors["weak"])}, ds.labels)

def probe(tr: Trainer, data: DataBundle) -> float:
    "Ridge linear probe on the frozen weak features: fitted on train, scored on test."
    return linear_readout_acc(weak_features(tr, data.train), weak_features(tr, data.test), ["weak"])

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weak_modality_is_suppressed(seed):
    cfg = load_config("synthetic", ["log.wandb=false"], seed=seed)
    data = get_dataset("synthetic").build(cfg.data, seed)
    joint, weak, easy = train(cfg, data), train(cfg, only(data, "weak")), train(cfg, only(data, "easy"))
    jm, weak_alone, easy_alone = joint.final_metrics(), weak.final_metrics()["test_acc"], easy.final_metrics()["test_acc"]
    probe_joint, probe_alone = probe(joint, data), probe(weak, data)
    assert probe_joint < probe_alone - 0.04, (probe_joint, probe_alone)
    assert jm["unimodal_test_acc"]["weak"] < weak_alone - 0.05, (jm["unimodal_test_acc"]["weak"], weak_alone)
    # both used well: the easy input beside the weak encoder trained alone, read out linearly
    both = lambda ds: DictDataset({"easy": ds.tensors["easy"], "weak": weak_features(weak, ds).tensors["weak"]}, ds.labels)
    both_acc = linear_readout_acc(both(data.train), both(data.test), ["easy", "weak"])
    assert both_acc > max(easy_alone, weak_alone) + 0.02 and ceilings(cfg.data)["all"] > both_acc
    print(f"seed {seed}: weak probe alone {probe_alone:.3f} vs inside joint {probe_joint:.3f}; weak alone {weak_alone:.3f}, "
          f"weak slice in joint {jm['unimodal_test_acc']['weak']:.3f}; easy alone {easy_alone:.3f}, joint {jm['test_acc']:.3f}, both used well {both_acc:.3f}")

def test_default_draws_unchanged():
    "The shipped `synthetic` config is the default one, and it draws what it drew before the regimes existed (committed runs depend on it)."
    assert load_config("synthetic").data == SyntheticConfig()
    b = build_synthetic(SyntheticConfig(), 0)
    sums = lambda ds: {m: t.double().sum().item() for m, t in ds.tensors.items()} | {"label": int(ds.labels.sum())}
    assert sums(b.train) == pytest.approx({"easy": -2087.0273, "weak": -253.036, "label": 9148}, abs=1e-3)
    assert sums(b.test) == pytest.approx({"easy": -2367.6603, "weak": -380.6408, "label": 8966}, abs=1e-3)

def regime(name: str, seed: int) -> tuple[SyntheticConfig, DataBundle]:
    "The data config of shipped regime `name` and its data for `seed`."
    cfg = load_config(f"synthetic_{name}").data
    return cfg, build_synthetic(cfg, seed)

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conditional_weak_helps_only_beside_easy(seed):
    cfg, b = regime("conditional", seed)
    lin = {k: linear_readout_acc(b.train, b.test, ms) for k, ms in {"easy": ["easy"], "weak": ["weak"], "all": ["easy", "weak"]}.items()}
    weak_mlp = mlp_readout_curve(b.train, b.test, ["weak"], steps=200, every=50)[-1]
    assert abs(lin["weak"] - 0.1) < 0.03 and abs(weak_mlp - 0.1) < 0.03, (lin, weak_mlp)   # chance alone, linear or not
    assert lin["all"] > lin["easy"] + 0.2, lin                                           # yet a clear gain beside easy
    assert ceilings(cfg)["weak"] == 0.1 and ceilings(cfg)["all"] > ceilings(cfg)["easy"] + 0.25

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slow_weak_needs_a_nonlinear_encoder_and_learns_late(seed):
    cfg, b = regime("slow", seed)
    lin = linear_readout_acc(b.train, b.test, ["weak"])
    easy = mlp_readout_curve(b.train, b.test, ["easy"], steps=200)
    weak = mlp_readout_curve(b.train, b.test, ["weak"], steps=700)
    assert lin < 0.13 and weak[-1] > 0.7, (lin, weak[-1])
    assert steps_to(weak) >= 5 * steps_to(easy), (steps_to(weak), steps_to(easy))

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noisy_dominant_learns_first_but_tops_out_lower(seed):
    cfg, b = regime("noisy_dominant", seed)
    assert ceilings(cfg)["easy"] < ceilings(cfg)["weak"] - 0.3
    easy, weak = (mlp_readout_curve(b.train, b.test, [m], steps=400) for m in ("easy", "weak"))
    assert easy[2] > weak[2] + 0.2 and steps_to(easy) < steps_to(weak), (easy[2], weak[2], steps_to(easy), steps_to(weak))
    assert weak[-1] > easy[-1] + 0.1, (weak[-1], easy[-1])

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_three_has_two_strong_and_one_weak(seed):
    cfg, b = regime("three", seed)
    acc = {m: mlp_readout_curve(b.train, b.test, [m], steps=300, every=100)[-1] for m in b.modalities}
    assert min(acc["easy_a"], acc["easy_b"]) > acc["weak"] + 0.1, acc
    assert min(ceilings(cfg)["easy_a"], ceilings(cfg)["easy_b"]) > ceilings(cfg)["weak"]
