"MOSEI / MOSI / CH-SIMS feature pickles with the real keys and dims: prepare, load, one epoch; identity checks refuse a mismatch."
import contextlib, io, json, pickle
from pathlib import Path
import numpy as np, pytest, torch
from asgml.cli import main
from asgml.core import ConfigError, load_config
from asgml.registry import get_dataset
from asgml.data.fixtures import mmsa_pickle, mosei_pickle
from asgml.data.mosei import FeatureConfig, build_features
from asgml.record import run

TINY = ["train.epochs=1", "train.batch_size=8", "model.transformer_dim=16", "model.transformer_layers=1", "model.feature_dim=8",
        "log.wandb=false", "log.progress=false", "data.check_sizes=false"]

def prepare(*args: str) -> tuple[int, str, str]:
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: main(["prepare", *args])
        except SystemExit as e: code = e.code
    return code, out.getvalue(), err.getvalue()

@pytest.fixture
def mosei(tmp_path) -> Path: return mosei_pickle(tmp_path / "mosei_senti_data.pkl")

def test_real_keys_and_dims_through_prepare_load_and_one_epoch(mosei, tmp_path):
    code, out, err = prepare("mosei", "--root", str(mosei), "--out", str(tmp_path / "cache"), "--param", "check_sizes=false")
    assert code == 0, err
    m = json.loads((tmp_path / "cache" / "manifest.json").read_text())
    assert m["dims"] == {"text": 300, "audio": 74, "vision": 35} and m["sizes"] == {"train": 12, "valid": 6, "test": 6}
    cfg = load_config("mosei", [f"data.path={tmp_path / 'cache'}", *TINY])
    metrics = run(cfg, tmp_path / "run")
    assert metrics["epochs"] == 1 and set(metrics["unimodal_test_acc"]) == {"text", "audio", "vision"}
    b = get_dataset("mosei").build(cfg.data, 0)
    assert b.input_shapes == {"text": (50, 300), "audio": (50, 74), "vision": (50, 35)} and b.n_classes == 2

def test_binary_labels_and_zero_handling(mosei):
    raw = pickle.loads(mosei.read_bytes())
    b = build_features(FeatureConfig(path=str(mosei), check_sizes=False), 0, "mosei")
    y = raw["test"]["labels"][:, 0, 0]
    assert b.test.labels.tolist() == (y[y != 0] > 0).astype(int).tolist() and b.info["dropped_zero"]["test"] == 1
    kept = build_features(FeatureConfig(path=str(mosei), check_sizes=False, zero="positive"), 0, "mosei")
    assert kept.test.labels.tolist() == (y >= 0).astype(int).tolist()
    seven = build_features(FeatureConfig(path=str(mosei), check_sizes=False, task="7class"), 0, "mosei")
    assert seven.n_classes == 7 and seven.test.labels.tolist() == (np.round(y) + 3).astype(int).tolist()

def test_nonfinite_counted_and_train_statistics(mosei):
    b = build_features(FeatureConfig(path=str(mosei), check_sizes=False, zero="positive"), 0, "mosei")
    assert b.info["nonfinite"]["audio"]["train"]["neginf"] == 1 and b.info["nonfinite"]["vision"]["test"]["nan"] == 1
    assert all(torch.isfinite(getattr(b, s).tensors[m]).all() for s in ("train", "val", "test") for m in b.modalities)
    torch.testing.assert_close(b.train.tensors["text"].mean((0, 1)), torch.zeros(300), atol=1e-4, rtol=0)
    assert b.test.tensors["text"].mean((0, 1)).abs().max() > 1e-3  # test is shifted by train statistics, not its own

def test_mosei_config_refuses_chsims_features(tmp_path):
    sims = mmsa_pickle(tmp_path / "SIMS" / "unaligned_39.pkl")
    with pytest.raises(ConfigError) as e: build_features(FeatureConfig(path=str(sims), check_sizes=False), 0, "mosei")
    msg = str(e.value)
    assert "does not look like CMU-MOSEI" in msg and "dims text 768, audio 33, vision 709" in msg and "use dataset 'chsims'" in msg
    b = get_dataset("chsims").build(FeatureConfig(path=str(sims), check_sizes=False), 0)
    assert b.input_shapes == {"text": (39, 768), "audio": (400, 33), "vision": (55, 709)}
    code, _, err = prepare("mosei", "--root", str(sims.parent), "--out", str(tmp_path / "c"), "--param", "check_sizes=false")
    assert code == 2 and "use dataset 'chsims'" in err

def test_sizes_and_label_range_are_checked(tmp_path, mosei):
    with pytest.raises(ConfigError, match="sizes 12/6/6 \\(expected about 16,326/1,871/4,659\\)"): build_features(FeatureConfig(path=str(mosei)), 0, "mosei")
    wide = mmsa_pickle(tmp_path / "x.pkl", dims={"text": 768, "audio": 33, "vision": 709}, label_range=3.0)
    with pytest.raises(ConfigError, match="labels in .* \\(expected within \\+-1\\)"): build_features(FeatureConfig(path=str(wide), check_sizes=False), 0, "chsims")
    mosi = mosei_pickle(tmp_path / "mosi_data.pkl", dims={"text": 300, "audio": 5, "vision": 20})
    assert build_features(FeatureConfig(path=str(mosi), check_sizes=False), 0, "mosi").input_shapes["audio"] == (50, 5)
    with pytest.raises(ConfigError, match="use dataset 'mosi'"): build_features(FeatureConfig(path=str(mosi), check_sizes=False), 0, "mosei")

def test_corrupt_pickle_is_named(tmp_path, mosei):
    cut = tmp_path / "mosei_cut.pkl"; cut.write_bytes(mosei.read_bytes()[:5000])
    code, _, err = prepare("mosei", "--root", str(cut), "--out", str(tmp_path / "c"))
    assert code == 2 and f"{cut} is not a readable feature pickle" in err
    with pytest.raises(ConfigError, match="was prepared as dataset 'mosei', not 'mosi'"):
        prepare("mosei", "--root", str(mosei), "--out", str(tmp_path / "ok"), "--param", "check_sizes=false")
        build_features(FeatureConfig(path=str(tmp_path / "ok"), check_sizes=False), 0, "mosi")
