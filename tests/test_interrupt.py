"""Ctrl-C, as a terminal sends it (SIGINT to the command's process group): `asgml train` and `asgml sweep` stop within
seconds with one line and status 130, no traceback, the interrupted run keeps its checkpoint, and the same command
resumes it. The sweep's kernels lead process groups of their own, which the terminal's SIGINT never reaches: the sweep
must stop them itself."""
import os, re, signal, subprocess, sys, time
from pathlib import Path
import psutil

ROOT = Path(__file__).resolve().parents[1]
ASGML = str(Path(sys.executable).parent / "asgml")
# about 2 s an epoch on a busy 2-core machine: long enough for the interrupt to land inside the run
SLOW = ["data.n_train=10000", "data.n_val=200", "data.n_test=200", "train.epochs=3", "log.progress=false", "log.wandb=false"]
STOP_WITHIN_S = 15   # measured: train 3-5 s, sweep 7-11 s, most of it the interpreter's own exit on a loaded machine

def foreground_signals() -> None:
    "A shell gives its foreground job the default SIGINT, even when the tests themselves run where it is ignored (a background job)."
    signal.signal(signal.SIGINT, signal.SIG_DFL)

def start(args: list[str]) -> subprocess.Popen:
    "The command in a session of its own, as a shell runs a foreground job."
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    return subprocess.Popen([ASGML, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True, preexec_fn=foreground_signals)

def ctrl_c_once(p: subprocess.Popen, marker: Path) -> tuple[str, float]:
    "Wait for `marker`, press Ctrl-C; the output and the seconds from the interrupt to the exit."
    while not marker.exists():
        assert p.poll() is None, f"it ended before {marker} appeared:\n{p.stdout.read()}"
        time.sleep(0.05)
    t0 = time.monotonic(); os.killpg(p.pid, signal.SIGINT)
    out, _ = p.communicate(timeout=120)
    return out, time.monotonic() - t0

def test_ctrl_c_stops_train_and_the_same_command_resumes(tmp_path):
    args = ["train", "--config", "synthetic", "--out", str(tmp_path), *sum((["--set", o] for o in SLOW), [])]
    p = start(args)
    out, took = ctrl_c_once(p, tmp_path / "checkpoint.pt")
    print(f"asgml train stopped {took:.1f} s after Ctrl-C")
    assert p.returncode == 130 and "Traceback" not in out, out
    line = out.strip().splitlines()[-1]
    assert re.fullmatch(rf"asgml train: interrupted after epoch [12] of 3; the checkpoint in {tmp_path} resumes it: rerun the same command \(asgml train .*\)", line), out
    assert took < STOP_WITHIN_S and not (tmp_path / "metrics.json").exists()
    again = start(args); out, _ = again.communicate(timeout=600)
    assert again.returncode == 0 and "resuming" in out and (tmp_path / "metrics.json").exists(), out

def test_ctrl_c_stops_a_sweep_and_its_kernels_and_the_same_command_resumes(tmp_path):
    args = ["sweep", "--datasets", "synthetic", "--methods", "baseline", "--seeds", "0", "1", "--protocols", "joint", "--runs", str(tmp_path),
            *sum((["--set", o] for o in SLOW), [])]
    first = tmp_path / "synthetic" / "baseline" / "seed0"
    p = start(args)
    while not (first / "checkpoint.pt").exists() and p.poll() is None: time.sleep(0.05)
    kernels = psutil.Process(p.pid).children()
    out, took = ctrl_c_once(p, first / "checkpoint.pt")
    print(f"asgml sweep stopped {took:.1f} s after Ctrl-C")
    assert p.returncode == 130 and "Traceback" not in out, out
    assert out.strip().splitlines()[-1] == (f"asgml sweep: interrupted: 0 of 2 runs finished, 1 interrupted ({first}), 1 not started; an interrupted "
                                            f"run resumes from its last checkpoint: rerun the same command (asgml {' '.join(args)})"), out
    assert took < STOP_WITHIN_S
    assert kernels and not [k for k in kernels if k.is_running() and k.status() != psutil.STATUS_ZOMBIE], "a kernel outlived the sweep"
    assert (first / "checkpoint.pt").exists() and not (first / "metrics.json").exists() and not (first / "error.json").exists()
    assert not (tmp_path / "synthetic" / "baseline" / "seed1").exists()
    again = start(args); out, _ = again.communicate(timeout=900)
    assert again.returncode == 0 and "2 runs in" in out and "2 ran" in out, out
    assert "resuming" in (first / "run.ipynb").read_text() and (first / "metrics.json").exists()

def test_ctrl_c_stops_a_diagnosis_and_its_kernel(tmp_path):
    args = ["diagnose", "synthetic", "--seeds", "0", "--runs", str(tmp_path), *sum((["--set", o] for o in SLOW), [])]
    p = start(args)
    first = tmp_path / "synthetic" / "diagnosis" / "alone_easy" / "seed0"
    while not (first / "checkpoint.pt").exists() and p.poll() is None: time.sleep(0.05)
    kernels = psutil.Process(p.pid).children()
    out, took = ctrl_c_once(p, first / "checkpoint.pt")
    print(f"asgml diagnose stopped {took:.1f} s after Ctrl-C")
    assert p.returncode == 130 and "Traceback" not in out, out
    assert out.strip().splitlines()[-1].startswith(f"asgml diagnose: interrupted; the finished runs in {tmp_path / 'synthetic' / 'diagnosis'} are kept"), out
    assert took < STOP_WITHIN_S
    assert kernels and not [k for k in kernels if k.is_running() and k.status() != psutil.STATUS_ZOMBIE], "a kernel outlived the diagnosis"
    assert (first / "checkpoint.pt").exists() and not (first / "metrics.json").exists()
