"""Every baseline method keeps its whole state in the checkpoint, runs the same from a saved state as without a break,
records its variant, and fails clearly on settings it cannot take."""
import io, json
import pytest, torch
from asgml.core import ConfigError, get_dataset, load_config, seed_everything
from asgml.train import Trainer, build_method, known_methods, run
from conftest import TINY

METHODS = ["ogm_ge", "mmpareto", "cggm", "gradnorm", "pcgrad", "dwa", "gblend", "miles", "inforeg", "opm", "ogm_ge+asgml_adaptive"]
FAST = ["methods.gblend.mode=online", "methods.gblend.warmup_epochs=1", "methods.gblend.period=1", "methods.gblend.estimate_epochs=1",
        "probe.eval_freq=3", "probe.probe_train_steps=5", "train.batch_size=50"]

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
def test_resume_from_state_equals_uninterrupted(method):
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
