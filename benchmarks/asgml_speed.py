"""Speed and memory of the ASGML modes against the baseline, on a model whose encoders dominate compute.

Two ResNet-18 encoders (audio 1-channel spectrogram, one visual frame) on random inputs, the same batches for
every mode, modes interleaved over repeats and the median taken. The ASGML schedule is engaged from the first step
(the dominant modality is set as if the probes had measured it), so the timed window shows its steady-state cost.
Writes benchmarks/results/asgml_speed-<shapes>-<device>.json and prints ratios to the baseline measured in the same run.

    python benchmarks/asgml_speed.py                      # CPU: reduced inputs (audio 1x32x32, frame 3x32x32)
    python benchmarks/asgml_speed.py --cremad-shapes       # CREMA-D shapes (audio 1x257x188, frame 3x224x224), for a GPU
    python benchmarks/asgml_speed.py --shapes tiny --encoders cnn --batch 4 --eval-freq 2 --probe-steps 2 --repeats 1 --out /tmp/a.json  # smoke check
"""
import argparse, json, platform, statistics, time
from pathlib import Path
import torch
import asgml.train as T
from asgml.core import Config, DataBundle, DictDataset, get_device, load_config, seed_everything
from asgml.hooks import Method
from asgml.record import git_commit

SHAPES = {"reduced": {"audio": (1, 32, 32), "visual": (1, 3, 32, 32)}, "cremad": {"audio": (1, 257, 188), "visual": (1, 3, 224, 224)},
          "tiny": {"audio": (1, 8, 8), "visual": (1, 3, 8, 8)}}   # tiny: for smoke checks only
ENCODERS = {"resnet18": ["model.encoders={audio: resnet18_audio, visual: resnet18_visual}", "model.feature_dim=512"],
            "cnn": ["model.encoders={audio: cnn, visual: cnn}"]}   # cnn: small encoders, for smoke checks only

def add_setup_args(p: argparse.ArgumentParser) -> None:
    "The options both speed benchmarks share: input shapes, encoders, batch size, device."
    p.add_argument("--shapes", choices=SHAPES, default="reduced", help="reduced (for a CPU), cremad (for a GPU) or tiny (smoke checks)")
    p.add_argument("--cremad-shapes", dest="shapes", action="store_const", const="cremad", help="the same as --shapes cremad")
    p.add_argument("--encoders", choices=ENCODERS, default="resnet18", help="two ResNet-18 encoders, or small CNNs (smoke checks)")
    p.add_argument("--batch", type=int, default=64); p.add_argument("--device", default="auto")

def bundle(shapes: dict, n: int, n_classes: int = 6, n_val: int = 512) -> DataBundle:
    "Random inputs of `shapes`: `n` training samples, `n_val` validation samples, 64 test samples."
    g = torch.Generator().manual_seed(0)
    ds = lambda k: DictDataset({m: torch.randn(k, *s, generator=g) for m, s in shapes.items()}, torch.randint(n_classes, (k,), generator=g))
    return DataBundle(ds(n), ds(n_val), ds(64), n_classes)

def config(method: str, args, extra: list[str] = ()) -> Config:
    "The synthetic config with the encoders `args.encoders` names; probes only for the methods that read them."
    over = [*ENCODERS[args.encoders], "log.wandb=false", "probe.enabled=null", f"train.batch_size={args.batch}", f"probe.eval_freq={args.eval_freq}",
            f"probe.probe_train_steps={args.probe_steps}", "asgml.k_ratio=2", "asgml.staleness_tau=2", f"train.device={args.device}", *extra]
    return load_config("synthetic", over, method=method)

def make(method: str, data: DataBundle, args, extra: list[str] = (), built: Method | None = None) -> T.Trainer:
    "A trainer of `method` (the instance `built` when given) on `data`; a method that reads probes sees audio dominant from the first step."
    seed_everything(0)
    tr = T.Trainer(config(method, args, extra), data, built or T.build_method(method))
    if tr.method.needs_probes:
        tr.probe_acc = {"audio": 0.9, "visual": 0.4}; tr.method.on_eval(0, tr.probe_acc)   # audio measured dominant from step 0
    return tr

def time_steps(tr: T.Trainer, batches: list) -> float:
    "Seconds for one eval period of training steps (probes measure once at its end when on)."
    tr.model.train()
    sync = torch.cuda.synchronize if tr.device.type == "cuda" else (lambda: None)
    sync(); t0 = time.perf_counter()
    for b in batches: tr.train_step(T.to_device(b, tr.device))
    sync(); return time.perf_counter() - t0

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_setup_args(p)
    p.add_argument("--eval-freq", type=int, default=100); p.add_argument("--probe-steps", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, help="where to write the JSON result (default: benchmarks/results/asgml_speed-<shapes>-<device>.json)")
    args = p.parse_args()
    shapes = SHAPES[args.shapes]
    data = bundle(shapes, args.batch * args.eval_freq)
    batches = [data.train[torch.arange(i, i + args.batch)] for i in range(0, len(data.train), args.batch)]
    modes = ["baseline", "asgml_frequency", "asgml_staleness", "asgml_adaptive"]
    trainers = {m: make(m, data, args) for m in modes}
    for tr in trainers.values(): time_steps(tr, batches[:2])                  # warm-up
    times, buffer_bytes = {m: [] for m in modes}, []
    for _ in range(args.repeats):
        for m in modes: times[m].append(time_steps(trainers[m], batches))
        buffer_bytes.append({m: trainers["asgml_staleness"].method.buffer.nbytes(m) for m in shapes})
    st = trainers["asgml_staleness"]
    enc_bytes = {m: sum(p.numel() * p.element_size() for p in st.model.encoders[m].parameters()) for m in shapes}
    res = {"git_commit": git_commit(), "torch": torch.__version__, "args": vars(args), "device": str(get_device(args.device)), "device_name": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or platform.machine(),
           "shapes": shapes, "batch": args.batch, "steps_per_repeat": len(batches), "eval_freq": args.eval_freq, "repeats": args.repeats,
           "sec_per_step": {m: statistics.median(t) / len(batches) for m, t in times.items()},
           "staleness_buffer": {"tau": st.method.tau, "snapshots": {m: st.method.buffer.n_snapshots(m) for m in shapes},
                                "bytes_after_each_repeat": buffer_bytes, "encoder_param_bytes": enc_bytes},
           "update_ratio": {m: {k: v / trainers[m].step for k, v in trainers[m].updates.items()} for m in modes},
           "probe_measurements": len(trainers["asgml_adaptive"].probes.history)}
    res["ratio_to_baseline"] = {m: res["sec_per_step"][m] / res["sec_per_step"]["baseline"] for m in modes}
    out = args.out or Path(__file__).parent / "results" / f"asgml_speed-{args.shapes}-{res['device'].split(':')[0]}.json"
    out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(res, indent=2, default=str))
    print(json.dumps({k: res[k] for k in ("device_name", "sec_per_step", "ratio_to_baseline", "staleness_buffer", "probe_measurements")}, indent=2))

if __name__ == "__main__": main()
