"""Cost of every baseline method against joint training, on a model whose encoders dominate compute.

The same set-up as `asgml_speed.py` (two ResNet-18 encoders on random inputs, the same batches for every method,
methods interleaved over repeats, the median taken); probes off except where a method needs them. G-Blend's training
steps are timed with its weights already set (methods in a shuffled order per repeat); its one-off estimate (each task trained alone for `estimate_epochs`
epochs) is timed separately and reported in epochs of baseline training. Writes
benchmarks/results/methods_speed-<shapes>-<device>.json and prints ratios to the baseline measured in the same run.

    python benchmarks/methods_speed.py                  # CPU: reduced inputs (audio 1x32x32, frame 3x32x32)
    python benchmarks/methods_speed.py --cremad-shapes  # CREMA-D shapes, for a GPU
"""
import argparse, json, platform, random, statistics, time
from pathlib import Path
import torch
import asgml.train as T
from asgml.core import get_device
from asgml_speed import bundle, make, time_steps

METHODS = ["baseline", "ogm_ge", "mmpareto", "cggm", "gradnorm", "pcgrad", "dwa", "gblend", "miles", "inforeg", "opm", "ogm_ge+asgml_adaptive"]

def gblend_estimate_sec(data, args) -> float:
    "Seconds of one G-Blend estimate (every task trained alone for one epoch of the timed batches)."
    args.extra = ["methods.gblend.estimate_epochs=1"]
    tr = make("gblend", data, args)
    t0 = time.perf_counter(); tr.method.estimate(); return time.perf_counter() - t0

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cremad-shapes", action="store_true"); p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=40, help="timed training steps per method and repeat (one 'epoch' here)")
    p.add_argument("--repeats", type=int, default=3); p.add_argument("--device", default="auto")
    args = p.parse_args()
    args.eval_freq, args.probe_steps, args.extra = args.steps, 100, []
    shapes = {"audio": (1, 257, 188), "visual": (1, 3, 224, 224)} if args.cremad_shapes else {"audio": (1, 32, 32), "visual": (1, 3, 32, 32)}
    data = bundle(shapes, args.batch * args.steps)
    batches = [data.train[torch.arange(i, i + args.batch)] for i in range(0, len(data.train), args.batch)]
    trainers = {m: make(m, data, args) for m in METHODS}
    trainers["gblend"].method.weights = {t: 1 / 3 for t in trainers["gblend"].method.tasks}
    for tr in trainers.values(): time_steps(tr, batches[:2])                  # warm-up
    times = {m: [] for m in METHODS}
    for r in range(args.repeats):   # a fresh method order per repeat spreads any drift in machine load over all methods
        for m in random.Random(r).sample(METHODS, len(METHODS)): times[m].append(time_steps(trainers[m], batches))
    sec = {m: statistics.median(t) / len(batches) for m, t in times.items()}
    est = gblend_estimate_sec(data, args)
    res = {"git_commit": T.git_commit(), "torch": torch.__version__, "args": vars(args), "device": str(get_device(args.device)),
           "device_name": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or platform.machine(),
           "shapes": shapes, "steps_per_repeat": len(batches), "sec_per_step": sec,
           "ratio_to_baseline": {m: s / sec["baseline"] for m, s in sec.items()},
           "gblend_estimate": {"sec": est, "estimate_epochs": 1, "in_baseline_epochs": est / (sec["baseline"] * len(batches))}}
    out = Path(__file__).parent / "results" / f"methods_speed-{'cremad' if args.cremad_shapes else 'reduced'}-{res['device'].split(':')[0]}.json"
    out.parent.mkdir(exist_ok=True); out.write_text(json.dumps(res, indent=2))
    print(json.dumps({k: res[k] for k in ("device_name", "ratio_to_baseline", "gblend_estimate")}, indent=2))

if __name__ == "__main__": main()
