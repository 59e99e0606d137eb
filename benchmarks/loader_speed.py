"""Data-loading speed: the cached CREMA-D loader against decoding and STFT on the fly, on the same fixture clips.

The fixture is CREMA-D's real layout written by FFmpeg (asgml.data.fixtures): 16 kHz WAV files and 480x360 FLV
videos, `--clips` clips. `asgml prepare cremad` caches them once (224x298 frames, 1x257x188 spectrograms); then, on one
thread (torch.set_num_threads(1)), items per second of:

- on the fly, audio: torchaudio load + resample 16 -> 22.05 kHz + tile to 3 s + torch.stft + log, one clip at a time.
  This is the fair equivalent of the reference implementations' librosa.load(sr=22050) + librosa.stft (librosa is not
  installed here; the reference ran at about 75 items/s on one core of a 2-core machine);
- cached, audio: the same spectrograms gathered from the memory-mapped cache, batch 64, random order;
- on the fly, audio + one frame: the above plus torchcodec decoding of the middle 1 fps frame, resized, normalised;
- cached, audio + one frame: ClipDataset.batch with the training path (random frame, RandomResizedCrop(224), flip).

The cache is read warm (after one pass), as it is from the second epoch on. Writes benchmarks/results/loader_speed-cpu.json.

    python benchmarks/loader_speed.py            # about a minute on one core
"""
import argparse, json, platform, shutil, statistics, tempfile, time
from pathlib import Path
import numpy as np, torch
from asgml.data import fixtures
from asgml.data.cremad import CremadConfig, build_cremad, prepare_cremad
from asgml.data.media import imagenet_normalise_, log_spectrogram, read_audio, read_frames, frame_times, resize_full, tile_clip
from asgml.record import git_commit

def on_the_fly_audio(wav: Path) -> torch.Tensor:
    return log_spectrogram(tile_clip(read_audio(wav, 22050), 66150), 512, 353)

def on_the_fly_item(wav: Path, flv: Path) -> tuple[torch.Tensor, torch.Tensor]:
    frames, n = read_frames(flv, lambda d: frame_times(d, 1.0, 3), 3, (360, 480))
    frame = torch.from_numpy(frames[n // 2: n // 2 + 1])
    return on_the_fly_audio(wav), imagenet_normalise_(resize_full(frame, 224))

def items_per_s(fn, n_items: int, repeats: int) -> float:
    "Median items per second over `repeats` timed calls of `fn` (each handles `n_items`)."
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    return n_items / statistics.median(times)

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clips", type=int, default=10, help="fixture clips per class (6 classes; train + test lists)")
    p.add_argument("--batch", type=int, default=64); p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", type=Path, help="where to write the JSON result (default: benchmarks/results/loader_speed-cpu.json)")
    args = p.parse_args()
    if args.clips < 2: p.error("--clips must be at least 2: validation takes one clip per class from the training list")
    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp())
    try:
        root = fixtures.cremad_fixture(tmp / "CREMA-D", train_per_class=args.clips, test_per_class=1, seconds=2.5, size="480x360")
        t0 = time.perf_counter()
        prepare_cremad(root, tmp / "cache", root / "ogm_ge_split", progress=False)
        prep_s = time.perf_counter() - t0
        wavs, flvs = sorted((root / "AudioWAV").glob("*.wav")), sorted((root / "VideoFlash").glob("*.flv"))
        b = build_cremad(CremadConfig(cache=str(tmp / "cache")), seed=0)
        ds, g = b.train, torch.Generator().manual_seed(0)
        n, k = len(ds), args.batch
        order = lambda: torch.randperm(n, generator=g).repeat(-(-k // n))[:k]
        audio_only = lambda: torch.from_numpy(np.ascontiguousarray(ds.arrays["audio"][np.sort(ds.rows[order().numpy()])]))
        for _ in range(2): audio_only(); ds.batch(order(), g)  # warm the page cache
        res = {"on_the_fly_audio": items_per_s(lambda: [on_the_fly_audio(w) for w in wavs], len(wavs), args.repeats),
               "cached_audio": items_per_s(audio_only, k, args.repeats * 5),
               "on_the_fly_audio_and_frame": items_per_s(lambda: [on_the_fly_item(w, f) for w, f in zip(wavs, flvs)], len(wavs), args.repeats),
               "cached_audio_and_frame_train": items_per_s(lambda: ds.batch(order(), g), k, args.repeats * 5)}
        out = {"git_commit": git_commit(), "torch": torch.__version__, "cpu": platform.processor() or platform.machine(), "threads": 1,
               "args": vars(args), "fixture_clips": len(wavs), "video": "480x360 FLV (flv1), 2.5 s; audio 16 kHz WAV",
               "prepare_seconds": round(prep_s, 2), "items_per_s": {k_: round(v, 1) for k_, v in res.items()},
               "ratio_audio": round(res["cached_audio"] / res["on_the_fly_audio"], 1),
               "ratio_audio_and_frame": round(res["cached_audio_and_frame_train"] / res["on_the_fly_audio_and_frame"], 1),
               "note": "on-the-fly = torchaudio load + resample to 22,050 Hz + torch.stft (librosa's equivalent; librosa not installed); "
                       "cached = memory-mapped .npy from asgml prepare, warm page cache, batch gather"}
    finally: shutil.rmtree(tmp)
    path = args.out or Path(__file__).parent / "results" / "loader_speed-cpu.json"
    path.parent.mkdir(parents=True, exist_ok=True); path.write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps(out, indent=2, default=str))

if __name__ == "__main__": main()
