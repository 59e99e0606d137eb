"""Every baseline method keeps its whole state in the checkpoint, runs the same from a saved state as without a break,
records its variant, and fails clearly on settings it cannot take."""
import io, itertools, json
import pytest, torch
from asgml.core import ConfigError, batches, load_config, seed_everything
from asgml.registry import get_dataset
from asgml.modulation import cggm_trace
from asgml.core import to_device
from asgml.hooks import build_method
from asgml.registry import METHODS as REGISTRY, known_methods
from asgml.record import run
from asgml.train import Trainer
from conftest import TINY

METHODS = ["ogm_ge", "mmpareto", "cggm", "gradnorm", "pcgrad", "dwa", "gblend", "miles", "inforeg", "agm", "pmr", "relearning", "opm",
           "greedy", "amco", "mla", "reconboost", "mmcosine", "umt", "mbsd", "cml", "lfm", "valuation", "ogm_ge+asgml_adaptive"]
FAST = ["methods.gblend.mode=online", "methods.gblend.warmup_epochs=1", "methods.gblend.period=1", "methods.gblend.estimate_epochs=1",
        "methods.lfm.schedule=learned", "probe.eval_freq=3", "probe.probe_train_steps=5", "train.batch_size=50", "methods.relearning.every=1"]

def trainer(method: str, extra: list[str] = ()) -> Trainer:
    cfg = load_config("synthetic", [*TINY, *FAST, *extra], method=method)
    seed_everything(cfg.seed)
    data = get_dataset(cfg.dataset).build(cfg.data, cfg.seed)
    seed_everything(cfg.seed)
    return Trainer(cfg, data, build_method(method))

def epoch(tr: Trainer) -> None: tr.end_epoch(tr.run_epoch())

def test_all_registered():
    assert set(METHODS[:-1]) <= set(known_methods())

@pytest.mark.parametrize("method", METHODS)
def test_resume_from_state_equals_uninterrupted(method, tmp_path, monkeypatch):
    monkeypatch.setenv("ASGML_CACHE", str(tmp_path))   # what a method caches (UMT's teachers) stays out of the user's cache
    straight = trainer(method); epoch(straight); epoch(straight); epoch(straight)
    first = trainer(method); epoch(first)
    buf = io.BytesIO(); torch.save(first.state_dict(), buf); buf.seek(0)
    resumed = trainer(method); resumed.load_state_dict(torch.load(buf, weights_only=False)); epoch(resumed); epoch(resumed)
    for k, v in straight.model.state_dict().items(): assert torch.equal(v, resumed.model.state_dict()[k]), k
    strip = lambda h: [{k: v for k, v in r.items() if k != "sec"} for r in h]
    assert strip(straight.history) == strip(resumed.history)

def test_variant_recorded(tmp_path):
    cfg = load_config("synthetic", [*TINY, "methods.ogm_ge.faithful_to=paper"], method="ogm_ge")
    m = run(cfg, tmp_path)
    assert m["method_variant"]["faithful_to"] == "paper" and m["method_variant"]["name"] == "ogm_ge"
    assert json.loads((tmp_path / "metrics.json").read_text())["method_variant"]["alpha"] == 0.8

def test_heads_required_but_disabled():
    with pytest.raises(ConfigError, match="needs separate unimodal heads but model.unimodal_heads = false"):
        trainer("mmpareto", ["model.unimodal_heads=false"])

def test_gblend_never_reads_test():
    tr = trainer("gblend")
    tr.data.test.labels = torch.full_like(tr.data.test.labels, -1)   # any read of test labels by the estimate would fail
    tr.eval_splits = ("val",)
    epoch(tr)
    assert sum(tr.method.weights.values()) == pytest.approx(1.0)

def test_ogm_ge_conv_selection_error():
    with pytest.raises(ConfigError, match="selects nothing in encoder"):
        trainer("ogm_ge", ["methods.ogm_ge.params=conv"])

def test_composition_order():
    tr = trainer("ogm_ge+asgml_adaptive")
    assert [p.name for p in tr.method.parts] == ["ogm_ge", "asgml_adaptive"]
    epoch(tr)
    assert tr.probes is not None and tr.probes.history

# CGGM hand traces: per-batch accuracies in eighths (exact in floating point) and the coefficients worked out by hand.
THREE_MODS = ["data.modalities=[a,b,c]", "data.signal=[5,3.5,3]", "data.difficulty=[0.1,0.2,0.2]", "data.dims=[16,16,16]", "data.sign_flip=[false,true,true]"]
HAND = {
    2: {"acc": [(4, 2), (6, 3), (8, 2), (7, 2), (7, 2)],
        "code": [(1 / 3, 2 / 3), (1 / 3, 2 / 3), (-1, 2), (0, 1), (1, 1)],       # first step: previous accuracy 0
        "guarded": [(1, 1), (1 / 3, 2 / 3), (0, 1), (1, 1), (1, 1)]},          # first step: no gain; clamp; S < min_gain
    3: {"acc": [(4, 2, 2), (6, 2, 1)],
        "code": [(0.5, 0.75, 0.75), (-1, 1, 2)],
        "guarded": [(1, 1, 1), (0, 1, 1)]},
}

def hand_case(n: int, variant: str, names: list[str]) -> tuple[list[dict], list[dict]]:
    "The hand trace for `n` modalities as dicts keyed by `names`: (accuracies, expected coefficients)."
    h = HAND[n]
    return [dict(zip(names, (k / 8 for k in a))) for a in h["acc"]], [dict(zip(names, c)) for c in h[variant]]

@pytest.mark.parametrize("variant", ["code", "guarded"])
@pytest.mark.parametrize("n", [2, 3])
def test_cggm_hand_trace(n, variant):
    accs, expected = hand_case(n, variant, ["a", "v", "t"][:n])
    assert cggm_trace(accs, variant) == [pytest.approx(e, abs=1e-6) for e in expected]

@pytest.mark.parametrize("variant", ["code", "guarded"])
@pytest.mark.parametrize("n", [2, 3])
def test_cggm_scales_encoders_by_hand_coefficients(n, variant):
    "With scripted classifier accuracies, each step multiplies every encoder's gradient by the hand c times rho (no clip)."
    tr = trainer("cggm", [*(THREE_MODS if n == 3 else []), "methods.cggm.grad_clip=0", f"methods.cggm.faithful_to={variant}"])
    accs, expected = hand_case(n, variant, tr.model.modalities)
    script, apply, seen = iter(accs), tr.method.after_backward, []
    tr.method.train_classifiers = lambda feats, labels: next(script)
    def checked(step: int) -> None:
        before = {m: [p.grad.clone() for p in e.parameters()] for m, e in tr.model.encoders.items()}
        apply(step)
        for m, e in tr.model.encoders.items():
            for g, p in zip(before[m], e.parameters()): torch.testing.assert_close(p.grad, g * tr.method.coef[m] * 1.3)
        seen.append(dict(tr.method.coef))
    tr.method.after_backward = checked
    for b in itertools.islice(batches(tr.data.train, tr.cfg.train.batch_size), len(accs)): tr.train_step(to_device(b, tr.device))
    assert seen == [pytest.approx(e, abs=1e-6) for e in expected]
    assert tr.method.describe()["faithful_to"] == variant

def test_own_unimodal_loss():
    "Exactly the methods whose own loss already weighs the unimodal losses say so."
    known_methods()
    assert {n for n, cls in REGISTRY.items() if cls.cls.own_unimodal_loss} == {"mmpareto", "gradnorm", "pcgrad", "dwa", "gblend", "mla", "reconboost",
                                                                               "amco", "mbsd", "cml"}
