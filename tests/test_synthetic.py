"""The synthetic benchmark reproduces the paper's problem (3 seeds): inside joint training the weak modality is
clearly below the same encoder trained alone (linear probe on its frozen features, and its slice of the fused head),
and a model using both modalities well beats either alone."""
import pytest, torch
from asgml.core import DataBundle, DictDataset, get_dataset, load_config, seed_everything
from asgml.data.synthetic import ceilings, linear_readout_acc
from asgml.train import Trainer, build_method

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
