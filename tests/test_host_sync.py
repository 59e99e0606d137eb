"""No host sync in the training hot path: every registered method (and the composition OGM-GE + adaptive ASGML) may bring
a value to the host at most once per training step; the loop itself syncs only when it flushes, once."""
import pytest
from asgml.registry import known_methods
from asgml.train import host_syncs

METHODS = [*known_methods(), "ogm_ge+asgml_adaptive"]   # the registry, so methods added later are covered too

@pytest.fixture(scope="module")
def table(tmp_path_factory) -> dict[str, dict]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASGML_CACHE", str(tmp_path_factory.mktemp("cache")))   # UMT's teachers stay out of the user's cache
        rows = {m: host_syncs(m, overrides=["asgml.threshold_delta=0"]) for m in METHODS}   # ASGML schedules throttle after the warm-up
    print("\nhost syncs per training step (4 steps after 3 warm-up steps and a probe measurement; then the flush step)")
    print(f"{'method':28s} {'per step':>14s} {'flush step':>10s}  call sites")
    for m, r in rows.items(): print(f"{m:28s} {str(r['per_step']):>14s} {r['flush_step']:>10d}  {dict(r['sites'])}")
    return rows

@pytest.mark.parametrize("method", METHODS)
def test_at_most_one_sync_per_step(table, method):
    r = table[method]
    assert max(r["per_step"]) <= 1, f"{method} syncs {r['per_step']} times per step at {dict(r['sites'])}"
    assert r["flush_step"] <= max(r["per_step"]) + 1, f"{method}: the flush step synced {r['flush_step']} times"

@pytest.mark.parametrize("method", METHODS)
def test_flush_sends_every_step(table, method):
    steps = table[method]["logged_steps"]
    assert steps == sorted(steps) and set(steps) == set(range(8)), f"{method}: the logger got steps {steps}"

def test_counter_counts():
    import torch
    from asgml.train import counting_host_syncs
    with counting_host_syncs() as c:
        torch.ones(()).item(); bool(torch.ones(()) > 0); torch.ones(2).tolist(); float(torch.ones(()))
    assert sum(c.values()) == 4 and torch.Tensor.item.__name__ == "item"   # counted, then restored
