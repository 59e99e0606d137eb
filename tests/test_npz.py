"The bring-your-own `npz` format: N modalities, checks naming the problem, NaN/inf counted, train-only statistics, one epoch."
from pathlib import Path
import numpy as np, pytest, torch
from asgml.core import ConfigError, load_config
from asgml.data.fixtures import npz_fixture
from asgml.data.npz import NpzConfig, build_npz
from asgml.train import run

def rewrite(path: Path, **changes) -> Path:
    "A copy of the .npz at `path` with arrays replaced (None drops one)."
    with np.load(path) as f: a = {k: f[k] for k in f.files}
    a.update(changes); out = path.with_name("changed.npz")
    np.savez(out, **{k: v for k, v in a.items() if v is not None})
    return out

@pytest.fixture
def npz(tmp_path) -> Path: return npz_fixture(tmp_path / "data.npz")

def test_three_modalities_one_epoch(npz, tmp_path):
    cfg = load_config("npz", [f"data.path={npz}", "train.epochs=1", "train.batch_size=8", "model.transformer_dim=16",
                              "model.transformer_layers=1", "model.feature_dim=8", "log.wandb=false", "log.progress=false"])
    m = run(cfg, tmp_path / "run")
    assert m["epochs"] == 1 and set(m["unimodal_test_acc"]) == {"ecg", "labs", "xray"}
    assert m["data_info"]["sizes"] == {"train": 20, "val": 10, "test": 10}

def test_four_modalities_and_carved_validation(tmp_path):
    f = npz_fixture(tmp_path / "d.npz", shapes={"a": (3,), "b": (4,), "c": (5,), "d": (2, 6)}, n=60)
    f = rewrite(f, val_idx=None)
    b = build_npz(NpzConfig(path=str(f)), seed=0)
    assert b.modalities == ["a", "b", "c", "d"] and b.info["val_from"] == "train"
    assert b.info["sizes"] == {"train": 27, "val": 3, "test": 15}

def test_nonfinite_counted_and_train_statistics_only(npz):
    with np.load(npz) as f: labs, tr, te = f["labs"].copy(), f["train_idx"], f["test_idx"]
    labs[tr[0], 0], labs[te[0], 1], labs[te[1], 2] = np.nan, -np.inf, np.inf
    labs[te[2]] += 1000.0  # an outlier in test must not move the statistics
    b = build_npz(NpzConfig(path=str(rewrite(npz, labs=labs))), seed=0)
    assert b.info["nonfinite"]["labs"]["train"]["nan"] == 1 and b.info["nonfinite"]["labs"]["test"] == {"nan": 0, "posinf": 1, "neginf": 1}
    assert torch.isfinite(b.test.tensors["labs"]).all() and b.test.tensors["labs"][0, 1] == 0
    torch.testing.assert_close(b.train.tensors["labs"][1:].mean(0), torch.zeros(8), atol=0.3, rtol=0)
    assert b.test.tensors["labs"].abs().max() > 100 and b.train.tensors["labs"].abs().max() < 10

def test_identity_checks_name_the_problem(npz):
    with pytest.raises(ConfigError, match=r"split sizes train/val/test are \[20, 10, 10\], data.expect_sizes says \[16326, 1871, 4659\]"):
        build_npz(NpzConfig(path=str(npz), expect_sizes=[16326, 1871, 4659]), 0)
    with pytest.raises(ConfigError, match="has no array 'test_idx'"): build_npz(NpzConfig(path=str(rewrite(npz, test_idx=None))), 0)
    with np.load(npz) as f: tr = f["train_idx"]
    with pytest.raises(ConfigError, match="rows are in both train and test"): build_npz(NpzConfig(path=str(rewrite(npz, test_idx=tr[:3]))), 0)
    with pytest.raises(ConfigError, match="modality 'labs' has 39 rows but there are 40 labels"):
        build_npz(NpzConfig(path=str(rewrite(npz, labs=np.zeros((39, 8), np.float32)))), 0)
    with pytest.raises(ConfigError, match="labels must be a 1-D integer array"):
        build_npz(NpzConfig(path=str(rewrite(npz, labels=np.zeros(40, np.float32)))), 0)
    with pytest.raises(ConfigError, match="data.path is not set"): build_npz(NpzConfig(), 0)
    with pytest.raises(FileNotFoundError, match="does not exist"): build_npz(NpzConfig(path=str(npz) + ".nope"), 0)
    (npz.parent / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(ConfigError, match="bad.npz is not a readable .npz file"): build_npz(NpzConfig(path=str(npz.parent / "bad.npz")), 0)
