"""Training speed of the CREMA-D ResNet-18 pair in fp32 and bf16 autocast, and whether the cached loader keeps up.

Two epochs on CREMA-D-shaped synthetic data (audio 1x257x188 float32, frames cached as uint8 224x298 and cropped /
flipped to 3x224x224 by the real ClipDataset on the training device), the shipped cremad config's model and
optimiser (ResNet-18 pair from scratch, concat fusion, SGD lr 1e-3 momentum 0.9 wd 1e-4), batch 64. Reports, per
precision, training steps per second with batches assembled by the loader inside the loop, and separately the
loader's batches per second alone. Writes benchmarks/results/gpu_resnet_cremad-<device>.json.

    python benchmarks/gpu_resnet_cremad.py                       # on a GPU: 2 epochs of 6,698 clips (105 steps each)
    python benchmarks/gpu_resnet_cremad.py --steps 2 --n 128     # smoke check on the CPU
"""
import argparse, json, platform, time
from pathlib import Path
import numpy as np, torch, torch.nn.functional as F
from asgml.core import get_device, load_config, seed_everything
from asgml.data.media import ClipDataset
from asgml.models import build_model
from asgml.record import git_commit
from asgml.train import make_optimizer

def synthetic_cremad(n: int, device: torch.device, pool: int = 512) -> ClipDataset:
    "A ClipDataset of `n` clips with CREMA-D's cached shapes (random spectrograms, 3 uint8 frames), rows cycling over `pool` distinct ones."
    rng, k = np.random.default_rng(0), min(n, pool)
    arrays = {"audio": rng.standard_normal((k, 1, 257, 188), dtype=np.float32) - 8.0,
              "frames": rng.integers(0, 256, (k, 3, 3, 224, 298), dtype=np.uint8), "n_frames": np.full(k, 3)}
    return ClipDataset(arrays, np.arange(n) % k, torch.from_numpy(rng.integers(0, 6, n)), frames=1, size=224, augment=True, device=device)

def sync(device: torch.device) -> None:
    if device.type == "cuda": torch.cuda.synchronize()

def train(ds: ClipDataset, precision: str, args, device: torch.device) -> dict:
    "Steps per second over `args.epochs` epochs (at most `args.steps` steps each) in `precision`."
    cfg = load_config("cremad", ["log.wandb=false"])
    seed_everything(0)
    model = build_model(cfg.model, ds.input_shapes, 6).to(device)
    opt = make_optimizer(list(model.parameters()), cfg.train)
    gen, steps = torch.Generator().manual_seed(0), 0
    sync(device); t0 = time.perf_counter()
    for _ in range(args.epochs):
        order = torch.randperm(len(ds), generator=gen)
        for i in range(0, min(len(ds), args.steps * args.batch), args.batch):
            batch = ds.batch(order[i:i + args.batch], gen)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = F.cross_entropy(model(batch).logits, batch["label"])
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); steps += 1
            if steps == 1: sync(device); t0 = time.perf_counter()  # the first step (cudnn set-up) is not timed
    sync(device)
    return {"steps_per_s": (steps - 1) / (time.perf_counter() - t0), "steps_timed": steps - 1,
            "last_loss": float(loss.item()), "peak_memory_gb": torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None}

def loader_only(ds: ClipDataset, args, device: torch.device) -> float:
    "Batches per second of ClipDataset.batch alone (training path), on `device`."
    gen = torch.Generator().manual_seed(1)
    ds.batch(torch.arange(args.batch), gen); sync(device)
    n, t0 = max(3, min(args.steps, 30)), time.perf_counter()
    for _ in range(n): ds.batch(torch.randperm(len(ds), generator=gen)[:args.batch], gen)
    sync(device)
    return n / (time.perf_counter() - t0)

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=6698, help="synthetic training clips (CREMA-D's OGM-GE train split: 6,698)")
    p.add_argument("--batch", type=int, default=64); p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--steps", type=int, default=10**9, help="at most this many steps per epoch (use 2 for a CPU smoke check)")
    p.add_argument("--device", default="auto"); p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    p.add_argument("--out", type=Path, help="where to write the JSON result (default: benchmarks/results/gpu_resnet_cremad-<device>[-smoke].json)")
    args = p.parse_args()
    device = get_device(args.device)
    ds = synthetic_cremad(args.n, device)
    res = {"git_commit": git_commit(), "torch": torch.__version__, "args": vars(args), "device": str(device),
           "device_name": torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or platform.machine(),
           "shapes": ds.input_shapes, "loader_batches_per_s": loader_only(ds, args, device),
           "train": {prec: train(ds, prec, args, device) for prec in args.precisions}}
    out = args.out or Path(__file__).parent / "results" / f"gpu_resnet_cremad-{device.type}{'-smoke' if args.steps < 10**9 else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(res, indent=2, default=str))
    print(json.dumps(res, indent=2, default=str))

if __name__ == "__main__": main()
