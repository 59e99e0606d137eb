"""Cost of every method of the default sweep against joint training, on a model whose encoders dominate compute.

The same set-up as `asgml_speed.py`: two ResNet-18 encoders on random inputs (validation: a fifth of the training
samples), probes only for the methods that read them, whose schedules see audio dominant from the first step. Every
method of `asgml.registry.sweep_methods()` (the baseline and the compositions included) is measured in one process:

- per step: seconds of `train_step` on the same batches for every method, methods interleaved in a shuffled order per
  repeat, the median over repeats, as a ratio to the baseline measured in the same run. G-Blend's steps are timed with
  its weights already set. No probe measurement falls inside the timed steps;
- per probe measurement (the methods that read probes): seconds of one measurement (`probe_train_steps` steps of each
  probe, then scoring on validation), made every `probe.eval_freq` steps, in epochs of baseline training on the timed
  batches. A run with `probe.enabled=true` pays it whatever its method;
- one-off: seconds of the method's `setup` (UMT trains a unimodal teacher per modality for `train.epochs`; ReconBoost's
  optional unimodal pre-training, off by default, is timed once more with `pretrain_epochs=1`), plus G-Blend's
  estimate (each task trained alone for `estimate_epochs` epochs), in epochs of baseline training on the timed batches;
- per epoch: the mean seconds of the `on_epoch_end` hook over the epochs of a `train.epochs` run (PMR's prototypes,
  Re-learning's k-means diagnosis every few epochs, ...), in the same unit. The method's state is put back after each
  call, so every call sees the state training would leave.

A method that cannot run on this set-up (it refuses the model or data with a ConfigError) is listed with its reason.
The user's cache is never read nor written: the run uses a temporary $ASGML_CACHE, so a setup that caches what it trains
(UMT's teachers) is measured training, not reading. Writes benchmarks/results/methods_speed-<shapes>-<device>.json
and prints the table.

    python benchmarks/methods_speed.py                  # CPU: reduced inputs (audio 1x32x32, frame 3x32x32)
    python benchmarks/methods_speed.py --cremad-shapes  # CREMA-D shapes, for a GPU
    python benchmarks/methods_speed.py --shapes tiny --encoders cnn --batch 4 --steps 2 --repeats 1 --epochs 1 --out /tmp/m.json  # smoke check
"""
import argparse, contextlib, copy, json, os, platform, random, statistics, sys, tempfile, time
from pathlib import Path
from typing import Any, Callable, Iterator
import torch
import asgml.train as T
from asgml.core import ConfigError, DataBundle, get_device
from asgml.record import git_commit
from asgml.registry import COMPOSITIONS, method_spec, sweep_methods
from asgml_speed import SHAPES, add_setup_args, bundle, make, time_steps

SETUP_VARIANTS = {"reconboost": ["methods.reconboost.pretrain_epochs=1"]}   # optional one-off work, off by default: timed once switched on

def say(message: str) -> None:
    "Progress, on stderr."
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

def family(method: str) -> str:
    "The family of a registered method or composition."
    return COMPOSITIONS[method].family if method in COMPOSITIONS else method_spec(method).family

def seconds(fn: Callable[[], Any], device: torch.device) -> float:
    "Wall-clock seconds of `fn()`, the device synchronised before and after."
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync(); t0 = time.perf_counter(); fn(); sync()
    return time.perf_counter() - t0

@contextlib.contextmanager
def private_cache() -> Iterator[str]:
    "Point $ASGML_CACHE at a fresh temporary folder for the block (removed after it), so nothing is read from or written to the user's cache."
    saved = os.environ.get("ASGML_CACHE")
    with tempfile.TemporaryDirectory(prefix="asgml-bench-cache-") as tmp:
        os.environ["ASGML_CACHE"] = tmp
        try: yield tmp
        finally:
            if saved is None: os.environ.pop("ASGML_CACHE")
            else: os.environ["ASGML_CACHE"] = saved

def timed_make(method: str, data: DataBundle, args, extra: list[str] = ()) -> tuple[T.Trainer, float]:
    "A trainer of `method` and the seconds its `setup` took."
    built, took = T.build_method(method), {}
    setup = built.setup
    def timed_setup(ctx) -> None: took["sec"] = seconds(lambda: setup(ctx), get_device(args.device))
    built.setup = timed_setup
    return make(method, data, args, extra, built), took["sec"]

def build_all(methods: list[str], data: DataBundle, args) -> tuple[dict, dict, dict]:
    "Trainers of the methods that run on this set-up, the seconds of their setups, and why the others cannot run."
    trainers, setup_sec, cannot = {}, {}, {}
    for m in methods:
        try: trainers[m], setup_sec[m] = timed_make(m, data, args, args.extra)
        except ConfigError as e: cannot[m] = str(e)
        say(f"{m}: setup {setup_sec[m]:.2f} s" if m in trainers else f"{m}: cannot run ({cannot[m]})")
    return trainers, setup_sec, cannot

def step_seconds(trainers: dict, batches: list, repeats: int) -> dict[str, list[float]]:
    "Each trainer's seconds per training step in each repeat, the methods in a fresh shuffled order per repeat."
    for tr in trainers.values(): time_steps(tr, batches[:2])   # warm-up
    times = {m: [] for m in trainers}
    for r in range(repeats):   # a fresh order per repeat spreads any drift in machine load over all methods
        for m in random.Random(r).sample(list(trainers), len(trainers)): times[m].append(time_steps(trainers[m], batches) / len(batches))
        say(f"repeat {r + 1} of {repeats} timed")
    return times

def probe_seconds(trainers: dict) -> dict[str, float]:
    "Seconds of one probe measurement, for the trainers whose method reads probes."
    return {m: seconds(lambda: tr.probes.measure(tr.model, tr.step), tr.device) for m, tr in trainers.items() if tr.probes is not None}

def epoch_record(tr: T.Trainer) -> dict:
    "The record `on_epoch_end` receives after an epoch: the training loss and the validation metrics."
    ev = T.evaluate(tr.model, tr.data.val, tr.cfg.train.batch_size, tr.device, tr.data.n_classes, tr.method.predict)
    return ({"epoch": 1, "train_loss": ev["loss"]} | {f"val_{k}": v for k, v in ev.items() if k != "unimodal_acc"}
            | {f"val_unimodal_acc/{m}": v for m, v in ev["unimodal_acc"].items()})

def epoch_hook_seconds(tr: T.Trainer) -> list[float]:
    "Seconds of the method's `on_epoch_end` at each epoch of a `train.epochs` run, its state put back after each call."
    record, state, out = epoch_record(tr), copy.deepcopy(tr.method.state_dict()), []
    for e in range(tr.cfg.train.epochs):
        out.append(seconds(lambda: tr.method.on_epoch_end(e, record | {"epoch": e + 1}), tr.device))
        tr.method.load_state_dict(copy.deepcopy(state))
    return out

def gblend_estimate(data: DataBundle, args) -> dict:
    "Seconds of one G-Blend estimate and its `estimate_epochs` (`args.estimate_epochs`, else G-Blend's default)."
    extra = [*args.extra, *([f"methods.gblend.estimate_epochs={args.estimate_epochs}"] if args.estimate_epochs else [])]
    tr = make("gblend", data, args, extra)
    return {"sec": seconds(lambda: tr.method.estimate(0), tr.device), "estimate_epochs": tr.method.cfg.estimate_epochs}

def variant_setups(methods: list[str], data: DataBundle, args) -> dict[str, dict]:
    "Setup seconds of the methods' optional one-off work, switched on (SETUP_VARIANTS)."
    out = {}
    for m, over in SETUP_VARIANTS.items():
        if m in methods: out[f"{m}[{','.join(o.split('.')[-1] for o in over)}]"] = {"sec": timed_make(m, data, args, [*args.extra, *over])[1], "settings": over}
    return out

def table(res: dict) -> str:
    "The results as a Markdown table: per-step ratio, one-off and per-epoch cost in baseline epochs."
    rows = ["| method | family | step / baseline step | one-off (baseline epochs) | per epoch (baseline epochs) | per probe measurement (baseline epochs) |",
            "|---|---|---|---|---|---|"]
    for m, fam in res["family"].items():
        if m in res["cannot_run"]: rows.append(f"| {m} | {fam} | cannot run: {res['cannot_run'][m]} | | | |"); continue
        probe = res["probe_measurement_in_baseline_epochs"].get(m)
        rows.append(f"| {m} | {fam} | {res['ratio_to_baseline'][m]:.2f} | {res['one_off_in_baseline_epochs'][m]:.2f} "
                    f"| {res['per_epoch_in_baseline_epochs'][m]:.3f} | {'' if probe is None else f'{probe:.3f}'} |")
    rows += [f"| {v} | (one-off only) | | {res['setup_variants_in_baseline_epochs'][v]:.2f} | | |" for v in res["setup_variants_in_baseline_epochs"]]
    return "\n".join(rows)

def measure(args) -> dict:
    "Every cost this benchmark reports, for the methods of the default sweep."
    shapes, methods = SHAPES[args.shapes], sweep_methods()
    data = bundle(shapes, args.batch * args.steps, n_val=max(args.batch, args.batch * args.steps // 5))
    batches = [data.train[torch.arange(i, i + args.batch)] for i in range(0, len(data.train), args.batch)]
    trainers, setup_sec, cannot = build_all(methods, data, args)
    if (gb := trainers.get("gblend")) is not None: gb.method.weights = {t: 1 / len(gb.method.tasks) for t in gb.method.tasks}
    repeats = step_seconds(trainers, batches, args.repeats)
    sec = {m: statistics.median(t) for m, t in repeats.items()}
    probe_sec = probe_seconds(trainers)
    epoch_sec = {m: epoch_hook_seconds(tr) for m, tr in trainers.items()}
    say("probe measurements and epoch hooks timed")
    one_off = dict(setup_sec)
    estimate = gblend_estimate(data, args) if "gblend" in trainers else None
    if estimate: one_off["gblend"] += estimate["sec"]
    variants = variant_setups(list(trainers), data, args)
    epoch = sec["baseline"] * len(batches)
    return {"git_commit": git_commit(), "torch": torch.__version__, "args": vars(args), "device": str(get_device(args.device)),
            "device_name": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or platform.machine(),
            "shapes": shapes, "steps_per_repeat": len(batches), "n_train": len(data.train), "n_val": len(data.val),
            "train_epochs": trainers["baseline"].cfg.train.epochs, "family": {m: family(m) for m in methods}, "cannot_run": cannot,
            "sec_per_step": sec, "sec_per_step_each_repeat": repeats, "baseline_epoch_sec": epoch,
            "ratio_to_baseline": {m: s / sec["baseline"] for m, s in sec.items()},
            "setup_sec": setup_sec, "gblend_estimate": estimate, "one_off_in_baseline_epochs": {m: s / epoch for m, s in one_off.items()},
            "probe_measurement_sec": probe_sec, "probe_measurement_in_baseline_epochs": {m: s / epoch for m, s in probe_sec.items()},
            "epoch_hook_sec": epoch_sec, "per_epoch_in_baseline_epochs": {m: statistics.mean(s) / epoch for m, s in epoch_sec.items()},
            "setup_variants": variants, "setup_variants_in_baseline_epochs": {v: d["sec"] / epoch for v, d in variants.items()}}

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_setup_args(p)
    p.add_argument("--steps", type=int, default=40, help="timed training steps per method and repeat (one 'epoch' here)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--epochs", type=int, help="train.epochs: UMT's teachers' training and the run the per-epoch hooks are averaged over (default: the config's)")
    p.add_argument("--estimate-epochs", type=int, help="G-Blend's estimate_epochs for its timed estimate (default: G-Blend's)")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE", help="a config override for every trainer (repeatable), e.g. model.fusion=film")
    p.add_argument("--out", type=Path, help="where to write the JSON result (default: benchmarks/results/methods_speed-<shapes>-<device>.json)")
    args = p.parse_args()
    args.eval_freq, args.probe_steps = 10**9, 100   # probes measured apart from the timed steps, with the default 100 probe steps
    args.extra = [*([f"train.epochs={args.epochs}"] if args.epochs else []), *args.settings]
    with private_cache(): res = measure(args)
    out = args.out or Path(__file__).parent / "results" / f"methods_speed-{args.shapes}-{res['device'].split(':')[0]}.json"
    out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(res, indent=2, default=str))
    print(table(res))

if __name__ == "__main__": main()
