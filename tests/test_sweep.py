"""Sweeps: skip what is done, retry what failed, isolate failures, resume after SIGKILL with identical metrics, the
submitit path (its local executor) and the grid through the command line."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import yaml
from asgml.experiments import RunSpec, run_slurm, run_status, run_sweep, sweep_specs
from conftest import TINY

ROOT = Path(__file__).resolve().parents[1]
ASGML = str(Path(sys.executable).parent / "asgml")
FAST = [*TINY, "train.epochs=1"]

def test_skip_done_retry_failed_and_isolate(tmp_path):
    specs = sweep_specs(["synthetic"], ["baseline"], [0, 1], FAST)
    blocked = specs[1].folder(tmp_path); (blocked / "run.ipynb").mkdir(parents=True)   # papermill cannot write the executed notebook
    first = run_sweep(specs, tmp_path)
    assert list(first.status) == ["ran", "failed"]
    assert run_status(specs[0].folder(tmp_path)) == "done"
    assert "run.ipynb" in json.loads((blocked / "error.json").read_text())["error"]
    (blocked / "run.ipynb").rmdir()                                           # the user fixes the cause
    second = run_sweep(specs, tmp_path)
    assert sorted(second.status) == ["ran", "skipped"] and not (blocked / "error.json").exists()
    assert run_status(blocked) == "done"

def test_sweep_refuses_store_of_another_config(tmp_path):
    assert list(run_sweep(sweep_specs(["synthetic"], ["baseline"], [0], FAST), tmp_path).status) == ["ran"]
    done = next(tmp_path.rglob("metrics.json")); before = done.read_bytes()
    args = ["sweep", "--datasets", "synthetic", "--methods", "baseline", "--seeds", "0", "--protocols", "joint", "--runs", str(tmp_path),
            *sum((["--set", o] for o in FAST), []), "--set", "train.epochs=2"]
    r = subprocess.run([ASGML, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "train.epochs = 1 there, 2 requested" in r.stderr, r.stderr
    assert "skipped" not in r.stdout and done.read_bytes() == before and len(list(tmp_path.rglob("metrics.json"))) == 1

def _train(out: Path) -> subprocess.Popen:
    args = ["train", "--config", "synthetic", "--seed", "3", "--out", str(out), "--set", "data.n_train=10000", "--set", "data.n_val=200",
            "--set", "data.n_test=200", "--set", "train.epochs=4", "--set", "log.progress=false"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    return subprocess.Popen([ASGML, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

def wait_for_wandb_service_of(pid: int, timeout: float = 60) -> None:
    "Wait until the W&B service a killed process started (`wandb-core --pid <pid>`) has exited."
    import psutil
    def alive() -> list:
        return [q for q in psutil.process_iter(["cmdline"]) if "--pid" in (c := q.info["cmdline"] or []) and str(pid) in c]
    t0 = time.time()
    while alive() and time.time() - t0 < timeout: time.sleep(0.5)

def start_wandb_service_here(folder: Path) -> None:
    "Start a W&B service in this process, as an in-process run before would: its `WANDB_SERVICE` reaches the runs started below."
    import wandb
    os.environ.setdefault("WANDB_MODE", "offline")
    wandb.init(project="asgml-tests", dir=str(folder)).finish()
    assert "WANDB_SERVICE" in os.environ

def test_sigkill_mid_run_resumes_to_identical_metrics(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    start_wandb_service_here(tmp_path)                                        # the resumed run must not meet the killed one's id in it
    assert _train(straight).wait(timeout=600) == 0
    p = _train(killed)
    while not (killed / "checkpoint.pt").exists(): time.sleep(0.02)
    time.sleep(0.3)                                                           # well into the next epoch
    p.send_signal(signal.SIGKILL); p.wait()
    wait_for_wandb_service_of(p.pid)                                          # it still holds the run id until it notices
    assert not (killed / "metrics.json").exists(), "the run finished before it could be killed"
    resumed = _train(killed)
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()[-3000:]
    assert "resuming" in resumed.stdout.read()
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (straight, killed))
    for k in ("sec_per_epoch", "environment", "git_commit"): a.pop(k); b.pop(k)
    assert a == b
    wandb_runs = sorted(p.name for p in (killed / "wandb").glob("offline-run-*"))   # one W&B run, continued: two folders, one id
    assert len(wandb_runs) == 2 and len({n.rsplit("-", 1)[1] for n in wandb_runs}) == 1, wandb_runs

def test_submitit_local_executor_runs_two(tmp_path):
    specs = sweep_specs(["synthetic"], ["baseline", "ogm_ge"], [0], FAST)
    res = run_slurm(specs, tmp_path, cluster="local", time_min=10)
    assert [r["status"] for r in res] == ["ran", "ran"]
    assert all(run_status(s.folder(tmp_path)) == "done" for s in specs)

def test_sweep_cli_expands_grid(tmp_path):
    grid = tmp_path / "grid.yaml"; grid.write_text(yaml.safe_dump({"k_ratio": [2, 3]}))
    args = ["sweep", "--datasets", "synthetic", "--methods", "asgml_frequency", "--seeds", "0", "--grid", str(grid), "--runs", "runs", "--workers", "2", "--protocols", "joint"]
    r = subprocess.run([ASGML, *args, *sum((["--set", o] for o in FAST), [])], cwd=tmp_path, capture_output=True, text=True, timeout=600)  # a relative --runs
    assert r.returncode == 0, r.stderr
    folders = sorted(p.parent.parent.name for p in (tmp_path / "runs").rglob("metrics.json"))
    assert folders == ["asgml.k_ratio=2", "asgml.k_ratio=3"]   # both in the relative store
    assert yaml.safe_load(next((tmp_path / "runs").rglob("asgml.k_ratio=3/seed0/config.yaml")).read_text())["asgml"]["k_ratio"] == 3
    assert "2 runs in" in r.stdout and "2 ran" in r.stdout
    assert "[IPKernelApp]" not in r.stderr, r.stderr   # the kernels' own log stays out of the sweep's output

def test_sweep_cli_refuses_bad_grid_before_running(tmp_path):
    grid = tmp_path / "grid.yaml"; grid.write_text(yaml.safe_dump({"k_ration": [2]}))
    r = subprocess.run([ASGML, "sweep", "--datasets", "synthetic", "--seeds", "0", "--grid", str(grid), "--runs", str(tmp_path / "runs")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "unknown key 'k_ration'" in r.stderr and not (tmp_path / "runs").exists()
