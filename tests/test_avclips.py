"AVE and Kinetics-Sounds: fixtures in the official layouts through `asgml prepare`, the loader and one epoch; identity checks; corrupt and missing videos named."
import contextlib, io, json, shutil
from pathlib import Path
import numpy as np, pytest, torch
from asgml.cli import main
from asgml.core import ConfigError, load_config
from asgml.registry import get_dataset
from asgml.data.avclips import AVClipsConfig, build_av
from asgml.data.fixtures import ave_fixture, corrupt, ks_fixture
from asgml.record import run

TINY = ["--param", "frame_height=24", "--param", "frame_width=32", "--param", "n_frames=128", "--param", "max_frames=4"]
SMALL = ["model.encoders={audio: cnn, visual: cnn}", "model.feature_dim=8", "model.cnn_width=4", "data.image_size=16", "data.check_counts=false",
         "train.epochs=1", "train.batch_size=4", "log.wandb=false", "log.progress=false"]

def prepare(*args: str) -> tuple[int, str, str]:
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: main(["prepare", "--no-progress", *args])
        except SystemExit as e: code = e.code
    return code, out.getvalue(), err.getvalue()

@pytest.fixture(scope="module")
def ave(tmp_path_factory) -> tuple[Path, Path]:
    root = ave_fixture(tmp_path_factory.mktemp("ave") / "AVE_Dataset")
    code, out, err = prepare("ave", "--root", str(root), "--out", str(root.parent / "cache"), *TINY)
    assert code == 0, err
    return root, root.parent / "cache"

@pytest.fixture(scope="module")
def ks(tmp_path_factory) -> tuple[Path, Path]:
    root = ks_fixture(tmp_path_factory.mktemp("ks") / "KS")
    (root / "videos" / "train1_02xYz.mp4").unlink()  # gone from YouTube
    code, out, err = prepare("ks", "--root", str(root), "--out", str(root.parent / "cache"), *TINY)
    assert code == 1 and "1 clip(s) with an absent file: " in out and out.count("train1_02xYz.mp4") == 1
    assert prepare("ks", "--root", str(root), "--out", str(root.parent / "cache"), *TINY, "--skip-bad")[0] == 0
    return root, root.parent / "cache"

def test_ave_official_split_shapes_and_one_epoch(ave, tmp_path):
    root, cache = ave
    b = build_av(AVClipsConfig(cache=str(cache), check_counts=False, image_size=16), 0, "ave")
    assert b.info["sizes"] == {"train": 6, "val": 3, "test": 3}  # the official val list, not carved
    assert b.input_shapes == {"audio": (1, 128, 128), "visual": (3, 3, 16, 16)} and b.n_classes == 3
    assert b.info["classes"] == ["Church bell", "Dog", "Male speech, man speaking"]
    ids = np.array(json.loads((cache / "clips.json").read_text()))
    assert all(v.startswith("va") for v in ids[b.val.rows]) and all(v.startswith("te") for v in ids[b.test.rows])
    a = b.test.batch(torch.arange(3))["audio"]
    raw = torch.from_numpy(np.load(cache / "audio.npy")[b.test.rows])
    torch.testing.assert_close(a, (raw + 4.5) / 10.28)  # fixed AST normalisation
    m = run(load_config("ave", [f"data.cache={cache}", *SMALL]), tmp_path / "run")
    assert m["epochs"] == 1 and m["dataset"] == "ave"

def test_ks_carves_validation_and_counts_missing(ks, tmp_path):
    root, cache = ks
    cfg = load_config("ks", [f"data.cache={cache}", *SMALL])
    assert cfg.data.allow_missing  # the shipped KS config accepts absent videos
    b = get_dataset("ks").build(cfg.data, 0)
    assert b.info["missing_clips"] == 1 and b.info["sizes"] == {"train": 5, "val": 3, "test": 3}
    assert b.info["label_histogram"]["val"] == [1, 1, 1]
    m = run(cfg, tmp_path / "run")
    assert m["epochs"] == 1

def test_frames_random_in_train_even_in_test(ave):
    b = build_av(AVClipsConfig(cache=str(ave[1]), check_counts=False, image_size=16, frames=2), 0, "ave")
    g = torch.Generator().manual_seed(0)
    assert len({b.train.batch(torch.tensor([0]), g)["visual"].sum().item() for _ in range(8)}) > 2
    assert b.test.batch(torch.tensor([0]))["visual"].equal(b.test.batch(torch.tensor([0]), g)["visual"])

def test_corrupt_video_named_and_identity_checks(ave, tmp_path):
    root = tmp_path / "AVE_Dataset"; shutil.copytree(ave[0], root)
    bad = corrupt(root / "AVE" / "va1000vid.mp4")
    code, out, err = prepare("ave", "--root", str(root), "--out", str(tmp_path / "c"), *TINY)
    assert code == 1 and f"1 clip(s) with an unreadable file: {bad} (cannot decode" in out and "1 with an unreadable one" in err
    with pytest.raises(ConfigError, match="a custom split\\?"): build_av(AVClipsConfig(cache=str(ave[1])), 0, "ave")
    with pytest.raises(ConfigError, match="was prepared for dataset 'ave', not 'ks'"): build_av(AVClipsConfig(cache=str(ave[1])), 0, "ks")
    (root / "testSet.txt").write_text((root / "trainSet.txt").read_text())
    with pytest.raises(ConfigError, match="videos are in both train and test"):
        prepare("ave", "--root", str(root), "--out", str(tmp_path / "c2"), *TINY, "--skip-bad")
        build_av(AVClipsConfig(cache=str(tmp_path / "c2"), check_counts=False, allow_missing=True), 0, "ave")
