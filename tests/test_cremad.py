"CREMA-D: a fixture in the real layout through `asgml prepare`, the loader and one epoch; identity checks; the real split lists."
import contextlib, io, json, shutil
from pathlib import Path
import numpy as np, pytest, torch
from asgml.cli import main
from asgml.core import ConfigError, load_config, seed_everything
from asgml.data.cremad import EMOTIONS, SPLIT_FILES, CremadConfig, actor, build_cremad, check_lists, default_split_dir, read_split_list
from asgml.data.fixtures import corrupt, cremad_fixture
from asgml.hooks import build_method
from asgml.record import run
from asgml.train import Trainer

TINY_FRAMES = ["--param", "frame_height=24", "--param", "frame_width=32"]
SMALL_MODEL = ["model.encoders={audio: cnn, visual: cnn}", "model.feature_dim=16", "model.cnn_width=4", "data.image_size=16",
               "train.epochs=1", "train.batch_size=4", "log.wandb=false", "log.progress=false"]

def prepare(*args: str) -> tuple[int, str, str]:
    "Run `asgml prepare cremad ...` in-process: exit code, stdout, stderr."
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: main(["prepare", "cremad", "--no-progress", *args])
        except SystemExit as e: code = e.code
    return code, out.getvalue(), err.getvalue()

@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path: return cremad_fixture(tmp_path_factory.mktemp("cremad") / "CREMA-D")

@pytest.fixture(scope="module")
def cache(raw, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cache") / "cremad"
    code, stdout, err = prepare("--root", str(raw), "--out", str(out), "--splits", str(raw / "ogm_ge_split"), *TINY_FRAMES)
    assert code == 0, err
    assert "18 of 18 clips cached" in stdout
    return out

def cfg(cache: Path, *over: str, seed: int = 0):
    return load_config("cremad", [f"data.cache={cache}", *SMALL_MODEL, *over], seed=seed)

def test_manifest_records_parameters_versions_and_checksums(cache, raw):
    m = json.loads((cache / "manifest.json").read_text())
    assert m["dataset"] == "cremad" and m["counts"]["clips"] == 18 and m["skipped"] == []
    assert {k: m["params"][k] for k in ("sample_rate", "seconds", "n_fft", "hop", "fps")} == {"sample_rate": 22050, "seconds": 3.0, "n_fft": 512, "hop": 353, "fps": 1.0}
    assert set(m["versions"]) >= {"torch", "torchaudio", "torchcodec", "numpy"}
    import hashlib
    assert m["split_files"]["train.csv"] == hashlib.sha256((raw / "ogm_ge_split" / "train.csv").read_bytes()).hexdigest()
    assert m["outputs"]["audio"] == {"shape": [1, 257, 188], "dtype": "float32"}

def test_shapes_and_labels_follow_the_conventions(cache):
    b = build_cremad(CremadConfig(cache=str(cache), frames=3, image_size=16), seed=0)
    assert b.input_shapes == {"audio": (1, 257, 188), "visual": (3, 3, 16, 16)} and b.n_classes == 6
    assert b.info["sizes"] == {"train": 6, "val": 6, "test": 6} and b.info["classes"] == list(EMOTIONS)
    ids = np.array(json.loads((cache / "clips.json").read_text()))
    for split in ("train", "val", "test"):
        ds = getattr(b, split)
        assert [EMOTIONS[y] for y in ds.labels.tolist()] == [c.split("_")[2] for c in ids[ds.rows]]
    batch = b.test.batch(torch.arange(6))
    assert batch["audio"].dtype == torch.float32 and batch["visual"].shape == (6, 3, 3, 16, 16)
    assert batch["audio"].max() < 10 and batch["audio"].min() >= np.log(1e-7) - 1e-3  # log(|S| + 1e-7), not normalised
    assert set(ids[b.val.rows]).isdisjoint(ids[b.train.rows])

def test_frames_random_in_train_and_fixed_in_test(cache):
    b = build_cremad(CremadConfig(cache=str(cache), frames=1, image_size=16), seed=0)
    g = torch.Generator().manual_seed(0)
    train_draws = {b.train.batch(torch.tensor([0]), g)["visual"].sum().item() for _ in range(12)}
    assert len(train_draws) > 3  # random frame, crop and flip
    assert len({b.test.batch(torch.tensor([0]), g)["visual"].sum().item() for _ in range(5)}) == 1
    assert b.train.batch(torch.tensor([0]))["visual"].equal(b.train.batch(torch.tensor([0]))["visual"])  # no generator: deterministic

def test_one_epoch_and_same_seed_same_metrics(cache, tmp_path):
    m1, m2 = (run(cfg(cache, seed=3), tmp_path / f"r{i}") for i in (1, 2))
    assert m1["epochs"] == 1 and m1["test_acc"] == m2["test_acc"]
    h1, h2 = ((tmp_path / f"r{i}" / "history.csv").read_text().splitlines() for i in (1, 2))
    assert [r.split(",")[:2] for r in h1] == [r.split(",")[:2] for r in h2]  # same train loss to the last digit

def test_resnet18_pair_one_epoch(cache):
    c = load_config("cremad", [f"data.cache={cache}", "data.image_size=32", "train.epochs=1", "train.batch_size=6", "log.wandb=false", "log.progress=false"])
    assert c.model.encoders == {"audio": "resnet18_audio", "visual": "resnet18_visual"} and c.train.lr == 0.001 and c.train.lr_step == 70
    seed_everything(0)
    b = build_cremad(c.data, 0)
    tr = Trainer(c, b, build_method("baseline"))
    tr.fit(progress=False)
    assert len(tr.history) == 1 and np.isfinite(tr.history[0]["train_loss"])

def test_corrupt_files_are_named_and_the_run_goes_on(raw, tmp_path):
    bad_raw = tmp_path / "raw"; shutil.copytree(raw, bad_raw)
    bad_video, bad_audio = sorted((bad_raw / "VideoFlash").glob("*.flv"))[3], sorted((bad_raw / "AudioWAV").glob("*.wav"))[7]
    corrupt(bad_video); bad_audio.write_bytes(bad_audio.read_bytes()[:20])  # garbage and a truncated header
    args = ["--root", str(bad_raw), "--out", str(tmp_path / "c"), "--splits", str(bad_raw / "ogm_ge_split"), *TINY_FRAMES]
    code, out, err = prepare(*args)
    assert code == 1 and "2 clip(s) skipped, 0 with an absent file and 2 with an unreadable one" in err
    assert out.count(str(bad_video)) == 1 and out.count(str(bad_audio)) == 1 and "16 of 18 clips cached" in out
    skipped = json.loads((tmp_path / "c" / "manifest.json").read_text())["skipped"]
    assert sorted(s["file"] for s in skipped) == sorted([str(bad_video), str(bad_audio)])
    code, out, _ = prepare(*args, "--skip-bad")
    assert code == 0 and "0 computed now, 2 skipped" in out  # resumed: only the two bad clips were tried again
    with pytest.raises(ConfigError, match="2 listed clips are not in the cache"): build_cremad(CremadConfig(cache=str(tmp_path / "c")), 0)
    b = build_cremad(CremadConfig(cache=str(tmp_path / "c"), allow_missing=True, image_size=16), 0)
    assert b.info["missing_clips"] == 2 and sum(b.info["sizes"].values()) == 16

def test_partial_copy_counts_absent_files_apart_and_names_each_once(raw, tmp_path):
    "A partial copy (most clips absent) says so: absent apart from unreadable, a few paths, each once, the list once."
    part = tmp_path / "raw"; shutil.copytree(raw, part)
    gone = sorted((part / "AudioWAV").glob("*.wav"))[:14]
    for f in gone: f.unlink()
    code, out, err = prepare("--root", str(part), "--out", str(tmp_path / "c"), "--splits", str(part / "ogm_ge_split"), *TINY_FRAMES)
    assert code == 1 and "4 of 18 clips cached" in out and "unreadable" not in out
    assert "14 clip(s) with an absent file: " in out and out.rstrip().endswith(", and 9 more")
    assert all(out.count(str(f)) <= 1 for f in gone) and sum(str(f) in out for f in gone) == 5
    assert err.count("\n") == 1 and "14 clip(s) skipped, 14 with an absent file (is --root a partial copy?)" in err
    skipped = json.loads((tmp_path / "c" / "manifest.json").read_text())["skipped"]
    assert len(skipped) == 14 and {s["kind"] for s in skipped} == {"absent"}

def test_resume_computes_only_missing_clips(raw, cache, tmp_path):
    copy = tmp_path / "c"; shutil.copytree(cache, copy)
    done = np.load(copy / "done.npy", mmap_mode="r+"); done[:5] = False; done.flush(); del done
    code, out, _ = prepare("--root", str(raw), "--out", str(copy), "--splits", str(raw / "ogm_ge_split"), *TINY_FRAMES)
    assert code == 0 and "18 of 18 clips cached" in out and "(5 computed now" in out
    code, _, err = prepare("--root", str(raw), "--out", str(copy), "--splits", str(raw / "ogm_ge_split"), "--param", "frame_height=30")
    assert code == 2 and "prepared with a different params" in err

def test_identity_checks_refuse_mismatches(cache, tmp_path):
    copy = tmp_path / "c"; shutil.copytree(cache, copy)
    (copy / "splits" / "test.csv").write_text((copy / "splits" / "test.csv").read_text() + "1001_IEO_NEU_XX,NEU\n")
    with pytest.raises(ConfigError, match="changed after the cache was prepared"): build_cremad(CremadConfig(cache=str(copy)), 0)
    m = json.loads((cache / "manifest.json").read_text()); m["dataset"] = "ave"
    shutil.rmtree(copy); shutil.copytree(cache, copy); (copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ConfigError, match="was prepared for dataset 'ave', not 'cremad'"): build_cremad(CremadConfig(cache=str(copy)), 0)
    with pytest.raises(ConfigError, match="data.frames = 5 but the cache .* keeps 3 frames"): build_cremad(CremadConfig(cache=str(cache), frames=5), 0)
    with pytest.raises(FileNotFoundError, match="run: asgml prepare cremad"): build_cremad(CremadConfig(cache=str(tmp_path / "none")), 0)
    bad = tmp_path / "bad.csv"; bad.write_text("1001_IEO_NEU_XX,ANG\n")
    with pytest.raises(ConfigError, match="labelled ANG but its id says NEU"): read_split_list(bad)

def test_actor_split_is_actor_disjoint(cache):
    b = build_cremad(CremadConfig(cache=str(cache), split="actor", actor_test_frac=0.25, image_size=16), seed=1)
    ids = np.array(json.loads((cache / "clips.json").read_text()))
    actors = {s: {actor(c) for c in ids[getattr(b, s).rows]} for s in ("train", "val", "test")}
    assert all(actors[s] for s in actors) and not (actors["train"] & actors["test"]) and not (actors["train"] & actors["val"]) and not (actors["val"] & actors["test"])
    again = build_cremad(CremadConfig(cache=str(cache), split="actor", actor_test_frac=0.25, image_size=16), seed=2)
    assert actors["test"] == {actor(c) for c in ids[again.test.rows]}  # the test actors do not move with the run seed

def test_real_ogm_ge_split_lists():
    d = default_split_dir()
    if not d.exists(): pytest.skip(f"real split lists not found at {d} (the shared data folder is absent on this machine)")
    train, test = (read_split_list(d / f) for f in SPLIT_FILES)
    check_lists(train, test, d)
    assert (len(train), len(test)) == (6698, 744)
    assert sorted({y for _, y in train}) == sorted({y for _, y in test}) == list(range(6))
    assert np.bincount([y for _, y in train]).tolist() == [973, 1148, 1131, 1138, 1142, 1166]
    assert len({actor(c) for c, _ in train}) == len({actor(c) for c, _ in test}) == 91
