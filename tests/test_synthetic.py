"""The synthetic benchmark reproduces the paper's problem (3 seeds): inside joint training the weak modality is
clearly below the same encoder trained alone, and both modalities used well beat either alone."""
import pytest, torch
from asgml.core import DataBundle, DictDataset, get_dataset, load_config, seed_everything
from asgml.data.synthetic import linear_readout_acc
from asgml.train import Trainer, build_method

def only(b: DataBundle, m: str) -> DataBundle:
    keep = lambda ds: DictDataset({m: ds.tensors[m]}, ds.labels)
    return DataBundle(keep(b.train), keep(b.val), keep(b.test), b.n_classes, b.info)

def train(cfg, data) -> dict:
    seed_everything(cfg.seed)
    tr = Trainer(cfg, data, build_method("baseline")); tr.fit(progress=False)
    return tr.final_metrics()

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weak_modality_is_suppressed(seed):
    cfg = load_config("synthetic", ["log.wandb=false"], seed=seed)
    data = get_dataset("synthetic").build(cfg.data, seed)
    joint = train(cfg, data)
    weak_alone = train(cfg, only(data, "weak"))["test_acc"]
    easy_alone = train(cfg, only(data, "easy"))["test_acc"]
    weak_in_joint = joint["unimodal_test_acc"]["weak"]
    assert weak_in_joint < weak_alone - 0.05, (weak_in_joint, weak_alone)
    both_linear = linear_readout_acc(data.train, data.test, ["easy", "weak"])
    assert both_linear > max(easy_alone, weak_alone) + 0.02, (both_linear, easy_alone, weak_alone)
    print(f"seed {seed}: weak alone {weak_alone:.3f}, weak inside joint {weak_in_joint:.3f}, easy alone {easy_alone:.3f}, "
          f"joint {joint['test_acc']:.3f}, linear on both {both_linear:.3f}")
