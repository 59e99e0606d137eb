"The entry points a user touches: the papermill template, `asgml train`, `asgml demo`, `asgml report`, and the help texts."
import json, subprocess, sys
from pathlib import Path
import papermill as pm
from asgml.experiments import template_path

ROOT = Path(__file__).resolve().parents[1]
ASGML = [str(Path(sys.executable).parent / "asgml")]  # the console script `pip install -e .` created

def sh(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([*ASGML, *args], cwd=cwd, capture_output=True, text=True, timeout=300)

def test_template_has_parameters_cell():
    nb = json.loads(template_path().read_text())
    params = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1 and all(k in "".join(params[0]["source"]) for k in ("dataset", "method", "seed", "overrides", "out_dir"))

def test_template_executes_with_tiny_settings(tmp_path):
    out = tmp_path / "run"
    pm.execute_notebook(str(template_path()), str(tmp_path / "executed.ipynb"), kernel_name="python3", cwd=str(template_path().parent),
                        parameters=dict(dataset="synthetic", seed=1, out_dir=str(out),
                                        overrides=["train.epochs=2", "data.n_train=300", "data.n_val=100", "data.n_test=100"]),
                        progress_bar=False)
    m = json.loads((out / "metrics.json").read_text())
    assert (m["dataset"], m["seed"], m["epochs"]) == ("synthetic", 1, 2)
    assert list(out.glob("wandb/offline-run-*")), "the W&B offline run is missing"
    executed = json.loads((tmp_path / "executed.ipynb").read_text())
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {}) for c in executed["cells"] for o in c.get("outputs", []))

def test_help_lists_commands():
    r = sh("--help")
    assert r.returncode == 0 and all(c in r.stdout for c in ("train", "sweep", "report", "demo"))
    r = sh("train", "--help")
    assert "--config" in r.stdout and "--set" in r.stdout and "--no-asgml" in r.stdout

def test_train_cli_and_no_asgml(tmp_path):
    r = sh("train", "--config", "synthetic", "--no-asgml", "--seed", "2", "--set", "train.epochs=1", "--set", "data.n_train=200",
           "--set", "log.wandb=false", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert (m["method"], m["seed"]) == ("baseline", 2) and "synthetic / baseline / seed 2: trained\nfused test accuracy" in r.stdout

def test_cli_config_error_is_one_sentence(tmp_path):
    r = sh("train", "--config", "synthetic", "--set", "train.lr=-3", "--out", str(tmp_path))
    assert r.returncode == 2 and r.stderr.strip() == "asgml train: error: train.lr = -3.0 is out of range; allowed 0.0 .. 10.0"
    assert not (tmp_path / "config.yaml").exists()

def test_demo_runs_through_papermill_and_prints_table(tmp_path):
    r = sh("demo", "--datasets", "synthetic", "--methods", "baseline", "ogm_ge", "--seeds", "0", "1", "--runs", str(tmp_path),
           "--set", "train.epochs=1", "--set", "data.n_train=200", "--set", "log.wandb=false")
    assert r.returncode == 0, r.stderr
    for m in ("baseline", "ogm_ge"):
        for s in (0, 1): assert (tmp_path / "synthetic" / m / f"seed{s}" / "run.ipynb").exists()
    assert "| Baseline " in r.stdout and "| OGM-GE " in r.stdout and "±" in r.stdout
    assert (tmp_path / "report" / "tables" / "synthetic_ablation.tex").exists()
