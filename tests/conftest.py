import os
import pytest
from asgml.core import resolve_data_root

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

# Under pytest-xdist (`make test` runs one worker per core) each worker computes on one thread: workers that each
# spin a thread per core thrash, and most tests are too small to gain from intra-op threads anyway.
if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"

# A tiny synthetic configuration: a full epoch in well under a second on the CPU.
TINY = ["data.n_train=300", "data.n_val=100", "data.n_test=100", "train.epochs=2", "log.wandb=false", "log.progress=false"]

@pytest.fixture
def tiny() -> list[str]:
    return list(TINY)

def shared_data_or_skip(*parts: str):
    "The shared data path, or skip the calling test with the path that is missing."
    p = resolve_data_root(None).joinpath(*parts)
    if not p.exists(): pytest.skip(f"real data not found at {p} (the shared data folder is absent on this machine)")
    return p

@pytest.fixture
def scratch_registry(monkeypatch):
    "Methods a test registers vanish after it: later tests see only the package's own methods."
    import sys, asgml.registry as registry
    registry.load_methods()
    monkeypatch.setattr(registry, "METHODS", dict(registry.METHODS))
    yield registry
    for mod in set(registry.plugin_modules()) - set(registry.METHOD_MODULES): sys.modules.pop(mod, None)   # imported again if asked for
