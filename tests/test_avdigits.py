"AV-digits on the real FSDD + MNIST files; skipped when the data root is absent."
import json
from pathlib import Path
import numpy as np, pytest, torch
from asgml.core import load_config, resolve_data_root
from asgml.data import avdigits
from asgml.data.avdigits import SPLITS, AVDigitsConfig, build_avdigits, load_mnist, missing_data

ROOT = resolve_data_root(None)
if missing_data(ROOT): pytest.skip(f"AV-digits tests need the real data: {missing_data(ROOT).splitlines()[0]}", allow_module_level=True)

@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str: return str(tmp_path_factory.mktemp("avdigits-cache"))

@pytest.fixture(scope="module")
def official(cache):
    return build_avdigits(AVDigitsConfig(cache_dir=cache), seed=0)

@pytest.fixture(scope="module")
def mnist_labels() -> np.ndarray: return load_mnist(ROOT)[1]

def take(name: str) -> int: return int(name[:-4].rsplit("_", 1)[1])
def speaker(name: str) -> str: return name.split("_")[1]

def small_root(tmp_path: Path, n: int = 20) -> Path:
    "A data root with the first `n` recordings and the MNIST files, linked from the real one."
    (tmp_path / "fsdd" / "recordings").mkdir(parents=True); (tmp_path / "mnist").mkdir()
    for p in sorted((ROOT / "fsdd" / "recordings").glob("*.wav"))[:n]: (tmp_path / "fsdd" / "recordings" / p.name).symlink_to(p)
    for p in (ROOT / "mnist").glob("*.gz"): (tmp_path / "mnist" / p.name).symlink_to(p)
    return tmp_path

def test_shapes_and_sizes(official):
    assert official.input_shapes == {"audio": (1, 40, 32), "image": (1, 28, 28)}
    assert (len(official.train), len(official.val), len(official.test)) == (2460, 240, 300)
    assert official.n_classes == 10 and official.info["image_reuse"] == {s: 0 for s in SPLITS}

def test_every_image_shows_the_spoken_digit(official, mnist_labels):
    for s in SPLITS: np.testing.assert_array_equal(mnist_labels[official.info["images"][s]], getattr(official, s).labels.numpy())

def test_official_splits_are_disjoint(official):
    clips, images = official.info["clips"], official.info["images"]
    assert sum(len(set(clips[s])) for s in SPLITS) == len(set().union(*map(set, clips.values()))) == 3000
    assert sum(len(set(images[s])) for s in SPLITS) == len(set().union(*map(set, images.values())))
    assert {take(n) < 5 for n in clips["test"]} == {True}
    assert {take(n) >= 5 for n in clips["train"] + clips["val"]} == {True}

def test_speaker_split_holds_out_speakers(cache):
    b = build_avdigits(AVDigitsConfig(split="speaker", test_speaker="theo", val_speaker="jackson", cache_dir=cache), seed=0)
    speakers = {s: {speaker(n) for n in b.info["clips"][s]} for s in SPLITS}
    assert speakers == {"train": {"george", "lucas", "nicolas", "yweweler"}, "val": {"jackson"}, "test": {"theo"}}
    assert not set(b.info["images"]["test"]) & set(b.info["images"]["train"] + b.info["images"]["val"])

def test_same_seed_same_data_other_seed_other_pairing(official, cache):
    again = build_avdigits(AVDigitsConfig(cache_dir=cache), seed=0)
    for s in SPLITS:
        a, b = getattr(official, s), getattr(again, s)
        assert all(torch.equal(a.tensors[m], b.tensors[m]) for m in a.modalities) and torch.equal(a.labels, b.labels)
    other = build_avdigits(AVDigitsConfig(cache_dir=cache), seed=1)
    assert other.info["images"]["test"] != official.info["images"]["test"]
    assert other.info["clips"]["test"] == official.info["clips"]["test"]  # the official test split does not move

def test_normalisation_uses_train_statistics_only(official, mnist_labels):
    cached = torch.load(official.info["cache"], weights_only=True)
    where = {n: i for i, n in enumerate(cached["names"])}
    raw_train = cached["features"][[where[n] for n in official.info["clips"]["train"]]]
    stats = official.info["normalisation"]
    torch.testing.assert_close(torch.tensor(stats["audio"]["mean"]), raw_train.mean((0, 2)))
    raw_images = load_mnist(ROOT)[0][official.info["images"]["train"]]
    assert stats["image"]["mean"] == pytest.approx(raw_images.mean().item(), rel=1e-4)
    assert official.train.tensors["image"].mean().abs() < 1e-4 and official.test.tensors["image"].mean().abs() > 1e-3

def test_degradations_are_recorded_and_change_only_their_modality(official, cache):
    cfg = AVDigitsConfig(cache_dir=cache, image_energy=0.5, image_occlusion=0.2, image_noise=0.3, audio_noise_snr_db=10.0)
    b = build_avdigits(cfg, seed=0)
    deg = b.info["degradation"]
    assert {k: deg[k] for k in ("seed", "image_energy", "image_occlusion", "image_noise", "audio_noise_snr_db")} == \
        {"seed": 0, "image_energy": 0.5, "image_occlusion": 0.2, "image_noise": 0.3, "audio_noise_snr_db": 10.0}
    assert deg["image_energy_kept"] >= 0.5 and 0 < deg["image_pca_components"] < 784
    assert b.info["images"] == official.info["images"]  # same seed, same pairing
    for m in ("image", "audio"): assert not torch.allclose(b.test.tensors[m], official.test.tensors[m], atol=0.1)

def test_weak_image_is_weaker_than_audio(official, cache):
    weak = build_avdigits(load_config("avdigits", [f"data.cache_dir={cache}", "data.max_per_split=600"]).data, seed=0)
    acc = {m: avdigits.linear_probe(weak.train, weak.val, [m]) for m in ("audio", "image")}
    assert acc["audio"] > acc["image"] + 0.2 and acc["image"] > 0.3

def test_max_per_split_caps_and_balances(cache):
    b = build_avdigits(AVDigitsConfig(cache_dir=cache, max_per_split=50), seed=0)
    for s in SPLITS: assert np.bincount(getattr(b, s).labels.numpy()).tolist() == [5] * 10

def test_cache_is_reused_without_decoding(official, cache, monkeypatch):
    monkeypatch.setattr(avdigits, "read_wav", lambda p: pytest.fail(f"decoded {p} despite the cache"))
    build_avdigits(AVDigitsConfig(cache_dir=cache), seed=0)
    manifest = json.loads(Path(official.info["cache"]).with_suffix(".json").read_text())
    assert manifest["n_clips"] == 3000 and manifest["n_mels"] == 40 and manifest["root"] == str(ROOT)

def test_missing_root_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"(?s){tmp_path}/nope does not exist.*{tmp_path}/nope/fsdd/recordings"):
        build_avdigits(AVDigitsConfig(root=str(tmp_path / "nope"), cache_dir=str(tmp_path)), seed=0)

def test_missing_mnist_names_the_file(tmp_path):
    root = small_root(tmp_path)
    (root / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="mnist/t10k-labels-idx1-ubyte.gz does not exist"):
        build_avdigits(AVDigitsConfig(root=str(root), cache_dir=str(tmp_path / "cache")), seed=0)

def test_corrupted_wav_names_the_file(tmp_path):
    root = small_root(tmp_path)
    bad = root / "fsdd" / "recordings" / "3_george_7.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(RuntimeError, match=str(bad)):
        build_avdigits(AVDigitsConfig(root=str(root), cache_dir=str(tmp_path / "cache")), seed=0)

def test_badly_named_wav_names_the_file(tmp_path):
    root = small_root(tmp_path)
    odd = root / "fsdd" / "recordings" / "three_george_7.wav"
    odd.symlink_to(sorted((ROOT / "fsdd" / "recordings").glob("*.wav"))[0])
    with pytest.raises(ValueError, match=f"{odd}: file name does not match"):
        build_avdigits(AVDigitsConfig(root=str(root), cache_dir=str(tmp_path / "cache")), seed=0)

def test_shipped_config_validates():
    cfg = load_config("avdigits")
    assert cfg.dataset == "avdigits" and isinstance(cfg.data, AVDigitsConfig) and cfg.data.image_energy < 1
    assert cfg.model.encoders == {"audio": "cnn", "image": "cnn"} and cfg.model.fusion == "concat"

def test_corrupted_mnist_names_the_file(tmp_path):
    root = small_root(tmp_path)
    bad = root / "mnist" / "t10k-images-idx3-ubyte.gz"
    bad.unlink(); bad.write_bytes(b"not gzip")
    with pytest.raises(ValueError, match=f"cannot read {bad}"):
        build_avdigits(AVDigitsConfig(root=str(root), cache_dir=str(tmp_path / "cache")), seed=0)

def test_info_is_plain_json(official):
    assert json.loads(json.dumps(official.info))["degradation"]["seed"] == 0
