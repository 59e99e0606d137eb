"""The bring-your-own `npz` format: N modalities, checks naming the problem, NaN/inf counted, train-only statistics, split codes,
ignored metadata arrays, the temporal-conv default for (T, D) sequences and per-modality encoder widths."""
from pathlib import Path
import numpy as np, pytest, torch
from asgml.core import ConfigError, ModelConfig, load_config
from asgml.data.fixtures import npz_fixture
from asgml.data.npz import NpzConfig, build_npz
from asgml.models import TemporalConvEncoder, build_model
from asgml.record import run
from conftest import TINY

QUIET = ["log.wandb=false", "log.progress=false"]

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
                              "model.transformer_layers=1", "model.feature_dim=8", *QUIET])
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

def sequence_npz(path: Path, n: int = 240, t: int = 32, d: int = 6, seed: int = 0) -> Path:
    """A learnable toy: class c is a sinusoid of (c + 1) / 16 cycles per frame at a random phase in channels 0 and 1 of a (T, D)
    `mfcc` sequence, under noise; beside it a pure-noise vector modality and a 1-D `subject` array."""
    rng, y = np.random.default_rng(seed), np.arange(n) % 3
    angle = 2 * np.pi * (y[:, None] + 1) / 16 * np.arange(t)[None] + rng.uniform(0, 2 * np.pi, (n, 1))
    x = 0.5 * rng.standard_normal((n, t, d))
    x[:, :, 0] += np.sin(angle); x[:, :, 1] += np.cos(angle)
    perm = rng.permutation(n)
    np.savez(path, mfcc=x.astype(np.float32), noise=rng.standard_normal((n, 4)).astype(np.float32), labels=y,
             train_idx=perm[:160], val_idx=perm[160:200], test_idx=perm[200:], subject=np.arange(n) // 8)
    return path

def test_temporal_conv_is_the_sequence_default_and_learns(tmp_path):
    cfg = load_config("npz", [f"data.path={sequence_npz(tmp_path / 'seq.npz')}", "train.epochs=6", "train.batch_size=16", "train.lr=0.003",
                              "model.feature_dim=16", "model.cnn_width=8", "train.checkpoint=false", *QUIET])
    assert isinstance(build_model(cfg.model, {"mfcc": (32, 6), "noise": (4,)}, 3).encoders["mfcc"], TemporalConvEncoder)
    m = run(cfg, tmp_path / "run")
    assert m["test_acc"] >= 0.7, m["test_acc"]  # chance is 1/3; measured 0.90 - 0.95 over three file seeds
    assert m["data_info"]["name"] == "seq" and m["data_info"]["ignored"] == {"subject": "shape (240,), no sample shape"}

def test_shipped_sequence_configs_keep_their_encoder():
    for name in ("mosei", "mosi", "chsims"):  # the shipped configs with (T, D) inputs; all others are vectors or images
        assert set(load_config(name).model.encoders.values()) == {"seq_transformer"}, name

def test_metadata_arrays_are_named_and_ignored(npz, capsys):
    f = rewrite(npz, subject=np.arange(40) // 4, source=np.array([f"p{i}.edf" for i in range(40)]), weight=np.ones(40))
    b = build_npz(NpzConfig(path=str(f)), seed=0)
    assert b.modalities == ["ecg", "labs", "xray"] and b.info["name"] == "changed"
    assert b.info["ignored"] == {"subject": "shape (40,), no sample shape", "source": "dtype <U7, not bool / int / float",
                                "weight": "shape (40,), no sample shape"}
    assert "changed.npz: ignoring 3 array(s) that are not modalities: subject (shape (40,)" in capsys.readouterr().out
    assert build_npz(NpzConfig(path=str(f), modalities=["labs"]), 0).info["ignored"]["ecg"] == "not in data.modalities"
    with pytest.raises(ConfigError, match="data.modalities names 'source', which has dtype <U7"):
        build_npz(NpzConfig(path=str(f), modalities=["labs", "source"]), 0)
    with pytest.raises(ConfigError, match="holds no modality"):
        build_npz(NpzConfig(path=str(rewrite(npz, ecg=None, labs=None, xray=None, subject=np.zeros(40)))), 0)

def split_rows(b) -> dict[str, torch.Tensor]:
    "Each split's `labs` rows in one order (sorted by the first column), so splits with the same rows compare equal."
    return {s: getattr(b, s).tensors["labs"][getattr(b, s).tensors["labs"][:, 0].argsort()] for s in ("train", "val", "test")}

@pytest.mark.parametrize("kind", ["strings", "integers"])
def test_split_codes_give_the_index_splits(npz, kind):
    with np.load(npz) as f: idx = {s: f[f"{s}_idx"] for s in ("train", "val", "test")}
    codes = np.empty(40, "<U5") if kind == "strings" else np.empty(40, np.int8)
    for i, s in enumerate(idx): codes[idx[s]] = s if kind == "strings" else i
    coded = build_npz(NpzConfig(path=str(rewrite(npz, train_idx=None, val_idx=None, test_idx=None, split=codes))), 0)
    by_idx = build_npz(NpzConfig(path=str(npz)), 0)
    assert coded.info["sizes"] == by_idx.info["sizes"] and coded.info["split_from"] == "split" and coded.info["val_from"] == "file"
    for s, rows in split_rows(coded).items(): torch.testing.assert_close(rows, split_rows(by_idx)[s])

def test_split_codes_refused_when_wrong(npz):
    codes = np.where(np.arange(40) < 30, "train", "test")
    carved = build_npz(NpzConfig(path=str(rewrite(npz, train_idx=None, val_idx=None, test_idx=None, split=codes))), 0)
    assert carved.info["val_from"] == "train" and carved.info["sizes"]["test"] == 10
    with pytest.raises(ConfigError, match="has a split array and \\['train_idx', 'val_idx', 'test_idx'\\]"):
        build_npz(NpzConfig(path=str(rewrite(npz, split=codes))), 0)
    with pytest.raises(ConfigError, match="split holds 'dev' in row 0"):
        build_npz(NpzConfig(path=str(rewrite(npz, train_idx=None, val_idx=None, test_idx=None, split=np.where(np.arange(40) < 1, "dev", codes)))), 0)
    with pytest.raises(ConfigError, match="split must be 40 codes"):
        build_npz(NpzConfig(path=str(rewrite(npz, train_idx=None, val_idx=None, test_idx=None, split=codes[:39]))), 0)

def test_encoder_width_changes_only_the_named_encoder():
    shapes = {"ecg": (12, 50), "labs": (8,), "xray": (1, 16, 16)}
    sizes = lambda model: {m: [tuple(p.shape) for p in e.parameters()] for m, e in model.encoders.items()}
    torch.manual_seed(0); base = build_model(ModelConfig(feature_dim=8), shapes, 3)
    torch.manual_seed(0); same = build_model(ModelConfig(feature_dim=8, encoder_width={"labs": 128}), shapes, 3)  # = model.hidden
    assert all(torch.equal(v, same.state_dict()[k]) for k, v in base.state_dict().items())  # same parameters, same draws
    wide = build_model(ModelConfig(feature_dim=8, encoder_width={"ecg": 4}), shapes, 3)
    assert wide.encoders["ecg"].net[0][0].out_channels == 4 and sizes(wide)["ecg"] != sizes(base)["ecg"]
    assert {m: s for m, s in sizes(wide).items() if m != "ecg"} == {m: s for m, s in sizes(base).items() if m != "ecg"}
    with pytest.raises(ConfigError, match="model.encoder_width names modality 'eeg'"): build_model(ModelConfig(encoder_width={"eeg": 4}), shapes, 3)

def test_encoder_width_from_the_config_and_a_dropped_modality(tmp_path):
    cfg = load_config("synthetic", ["model.encoder_width={weak: 16}", "model.modalities=[easy]", *TINY])
    m = run(cfg, tmp_path)   # the width of a modality model.modalities leaves out is not an error
    assert set(m["unimodal_test_acc"]) == {"easy"}
    model = build_model(load_config("synthetic", ["model.encoder_width={weak: 16}"]).model, {"easy": (32,), "weak": (32,)}, 10)
    assert model.encoders["weak"].net[1].out_features == 16 and model.encoders["easy"].net[1].out_features == 128
