"""The benchmark scripts keep working as the package changes.

Every script under `benchmarks/` answers `--help` in a fresh interpreter (so its imports still resolve), and
`methods_speed.py` measures every method of the default sweep on its tiniest settings without touching the user's
cache; a method the set-up refuses is reported with its reason instead of stopping the benchmark."""
import argparse, json, os, subprocess, sys
from pathlib import Path
import pytest
from asgml.hooks import build_method
from asgml.registry import sweep_methods

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
TINY = ["--shapes", "tiny", "--encoders", "cnn", "--batch", "4", "--steps", "2", "--repeats", "1", "--epochs", "1", "--estimate-epochs", "1"]

def run_script(script: Path, args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    "Run a benchmark script on one thread with the repository and the benchmarks folder on PYTHONPATH."
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(BENCHMARKS)]), "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True, timeout=300)

@pytest.mark.parametrize("script", sorted(BENCHMARKS.glob("*.py")), ids=lambda p: p.name)
def test_benchmark_answers_help(script: Path):
    r = run_script(script, ["--help"])
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.startswith("usage:")

def test_methods_speed_measures_every_sweep_method(tmp_path: Path):
    out, user_cache = tmp_path / "methods_speed.json", tmp_path / "user_cache"
    r = run_script(BENCHMARKS / "methods_speed.py", [*TINY, "--out", str(out)], env={"ASGML_CACHE": str(user_cache)})
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(out.read_text())
    assert set(res["ratio_to_baseline"]) | set(res["cannot_run"]) == set(sweep_methods())
    assert res["cannot_run"] == {} and res["ratio_to_baseline"]["baseline"] == 1.0
    assert set(res["one_off_in_baseline_epochs"]) == set(res["per_epoch_in_baseline_epochs"]) == set(res["ratio_to_baseline"])
    assert res["setup_sec"]["umt"] > 10 * res["setup_sec"]["baseline"]   # UMT's teachers were trained, not read from a cache
    assert res["gblend_estimate"]["estimate_epochs"] == 1 and "reconboost[pretrain_epochs=1]" in res["setup_variants"]
    assert set(res["probe_measurement_sec"]) == {m for m in res["ratio_to_baseline"] if build_method(m).needs_probes}
    assert not user_cache.exists()   # nothing was written to the user's cache
    assert "| umt | objectives |" in r.stdout

def test_methods_speed_reports_a_refused_method(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import methods_speed as ms
    args = argparse.Namespace(shapes="tiny", encoders="cnn", batch=4, device="cpu", eval_freq=10**9, probe_steps=2, extra=["model.fusion=film"])
    data = ms.bundle(ms.SHAPES["tiny"], 8, n_val=4)
    trainers, setup_sec, cannot = ms.build_all(["baseline", "mmcosine"], data, args)
    assert list(trainers) == list(setup_sec) == ["baseline"]
    assert "model.fusion = 'film'" in cannot["mmcosine"]

def test_weight_norms_records_every_variant(tmp_path: Path):
    out = tmp_path / "w.json"
    tiny = sum((["--set", o] for o in ["train.epochs=2", "data.n_train=120", "data.n_val=40", "data.n_test=40"]), [])
    r = run_script(BENCHMARKS / "weight_norms.py", ["--config", "synthetic", *tiny, "--out", str(out)])
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(out.read_text())
    assert set(res["results"]) == {"joint+unimodal", "joint+unimodal, no GE noise", "joint"} and res["commit"]
    for v in res["results"].values():
        assert v["stopped"] is None and [e["epoch"] for e in v["epochs"]] == [1, 2]
        assert all(n > 0 for e in v["epochs"] for n in e["weight_norm"].values())
