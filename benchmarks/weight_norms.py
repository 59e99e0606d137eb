"""Each encoder's weight norm and the training loss after every epoch, for one method under named variants.

Written to explain a divergence: OGM-GE under `joint+unimodal` on `synthetic_slow` reaches a NaN loss on every seed.
Each variant is a list of `--set` overrides on top of `--set` for all; the run stops at a non-finite loss and says
where. Writes benchmarks/results/weight_norms-<config>-<method>-seed<k>.json (with the commit) and prints a table.

    python benchmarks/weight_norms.py          # OGM-GE on synthetic_slow, seed 0: joint+unimodal with and without GE noise, and joint
    python benchmarks/weight_norms.py --config synthetic --method ogm_ge --set train.epochs=2 --out /tmp/w.json   # smoke check
"""
import argparse, json
from pathlib import Path
import torch
from asgml.core import load_config, seed_everything
from asgml.hooks import build_method
from asgml.record import git_commit
from asgml.registry import get_dataset
from asgml.train import DivergedError, Trainer

VARIANTS = {"joint+unimodal": ["train.unimodal_aux_loss=true"],
            "joint+unimodal, no GE noise": ["train.unimodal_aux_loss=true", "methods.ogm_ge.noise=false"],
            "joint": ["train.unimodal_aux_loss=false"]}

def weight_norm(module: torch.nn.Module) -> float:
    "The L2 norm of all of a module's parameters together."
    return torch.sqrt(sum(p.detach().pow(2).sum() for p in module.parameters())).item()

def trajectory(config: str, method: str, seed: int, overrides: list[str]) -> dict:
    "Train `method` epoch by epoch; per epoch the training loss, validation accuracy and each encoder's weight norm."
    cfg = load_config(config, ["log.wandb=false", "log.progress=false", *overrides], method=method)
    seed_everything(seed)
    tr, epochs = Trainer(cfg, get_dataset(cfg.dataset).build(cfg.data, seed), build_method(method)), []
    for _ in range(cfg.train.epochs):
        try: tr.end_epoch(tr.run_epoch(None))
        except DivergedError as e: return {"epochs": epochs, "stopped": str(e)}
        h = tr.history[-1]
        epochs.append({"epoch": h["epoch"], "train_loss": h["train_loss"], "val_acc": h["val_acc"],
                       "weight_norm": {m: weight_norm(e) for m, e in tr.model.encoders.items()}})
    return {"epochs": epochs, "stopped": None}

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="synthetic_slow"); p.add_argument("--method", default="ogm_ge")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", dest="overrides", action="append", default=[], help="override for every variant")
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args()
    res = {name: trajectory(a.config, a.method, a.seed, [*a.overrides, *o]) for name, o in VARIANTS.items()}
    out = a.out or Path(__file__).parent / "results" / f"weight_norms-{a.config}-{a.method}-seed{a.seed}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"commit": git_commit(), "config": a.config, "method": a.method, "seed": a.seed,
                               "overrides": a.overrides, "variants": VARIANTS, "results": res}, indent=1))
    for name, r in res.items():
        print(f"\n{name}" + (f"  (stopped: {r['stopped']})" if r["stopped"] else ""))
        for e in r["epochs"]: print(f"  epoch {e['epoch']:>2}  loss {e['train_loss']:.3f}  val {e['val_acc']:.3f}  " +
                                    "  ".join(f"|{m}| {v:.1f}" for m, v in e["weight_norm"].items()))
    print(f"\n{out}")

if __name__ == "__main__": main()
