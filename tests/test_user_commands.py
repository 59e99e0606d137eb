"""What a new user runs first: `asgml --help` (at once) and each sub-command's help, `asgml --version`, `asgml config`,
names checked before anything runs, JupyterLab, and the Jupyter kernel that papermill runs the experiment template in
(tests/test_papermill_cli.py executes the template itself; tests/test_readme_commands.py runs the README's commands)."""
import argparse, json, subprocess, sys, time
from pathlib import Path
import pytest, yaml
import asgml
from asgml.cli import parser
from asgml.core import load_config
from asgml.registry import known_methods

BIN = Path(sys.executable).parent  # the console scripts `pip install -e .` created

def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)

def subcommands() -> dict[str, argparse.ArgumentParser]:
    "The `asgml` sub-commands and their parsers."
    return next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)).choices

def test_help_names_every_subcommand():
    r = run(BIN / "asgml", "--help")
    assert r.returncode == 0, r.stderr
    assert all(name in r.stdout for name in subcommands())

@pytest.mark.parametrize("name", sorted(subcommands()))
def test_subcommand_help_names_its_options(name):
    r = run(BIN / "asgml", name, "--help")
    assert r.returncode == 0, r.stderr
    options = [max(a.option_strings, key=len) for a in subcommands()[name]._actions if a.option_strings]
    missing = [o for o in options if o not in r.stdout]
    assert options and not missing, f"`asgml {name} --help` does not name {missing}"

def test_help_is_quick():
    "The CLI module imports no torch, pandas or papermill, so `asgml --help` answers at once (about 0.1 s measured; 11-14 s before)."
    r = run(BIN / "python", "-c", "import sys, asgml.cli; print(sorted({'torch', 'pandas', 'papermill', 'matplotlib', 'scipy'} & set(sys.modules)))")
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr
    for args in (["--help"], ["sweep", "--help"]):
        t0 = time.perf_counter(); r = run(BIN / "asgml", *args); took = time.perf_counter() - t0
        print(f"asgml {' '.join(args)}: {took:.2f} s")
        assert r.returncode == 0 and took < 3, f"asgml {' '.join(args)} took {took:.1f} s"

def test_version():
    r = run(BIN / "asgml", "--version")
    assert r.returncode == 0 and r.stdout.strip() == f"asgml {asgml.__version__}"

def test_config_list_names_configs_grids_methods_and_datasets():
    r = run(BIN / "asgml", "config", "list")
    assert r.returncode == 0, r.stderr
    for name in ["synthetic_slow", "avdigits_speaker", "adaptive_sensitivity", *known_methods(), "npz"]: assert f" {name}" in r.stdout, name

def test_config_show_explains_every_key_and_is_a_config(tmp_path):
    r = run(BIN / "asgml", "config", "show", "avdigits", "--set", "train.epochs=3")
    assert r.returncode == 0, r.stderr
    body = [l for l in r.stdout.splitlines() if not l.startswith("#")]
    assert all("  # " in l for l in body), [l for l in body if "  # " not in l]
    assert any(l.startswith("  split: official") and "one of official, speaker" in l for l in body)
    (tmp_path / "shown.yaml").write_text(r.stdout)
    assert load_config(tmp_path / "shown.yaml") == load_config("avdigits", ["train.epochs=3"])
    r = run(BIN / "asgml", "config", "show", "avdigit")
    assert r.returncode == 2 and "(did you mean 'avdigits'?)" in r.stderr and r.stderr.count("\n") == 1, r.stderr

@pytest.mark.parametrize("args, says", [
    (["--methods", "ogm"], "asgml sweep: error: --methods 'ogm' is not a method (did you mean 'ogm_ge'?); known: agm, amco, asgml_adaptive,"),
    (["--methods", "baseline", "asgml_adaptve"], "asgml sweep: error: --methods 'asgml_adaptve' is not a method (did you mean 'asgml_adaptive'?)"),
    (["--datasets", "synthtic"], "asgml sweep: error: --datasets 'synthtic' is not a shipped config (did you mean 'synthetic'?)"),
    (["--set", "train.epoch=1"], "asgml sweep: error: unknown key 'train.epoch' (did you mean 'epochs'?)"),
    (["--grid", "control"], "asgml sweep: error: --grid 'control' is not a shipped grid (did you mean 'controls'?)")])
def test_sweep_refuses_a_bad_name_before_any_kernel(tmp_path, args, says):
    "One sentence, status 2, nothing written: no kernel started (a kernel per run used to fail with 'PapermillExecutionError:')."
    r = run(BIN / "asgml", "sweep", "--datasets", "synthetic", "--seeds", "0", "--runs", tmp_path / "store", *args)
    assert r.returncode == 2 and r.stderr.startswith(says) and r.stderr.count("\n") == 1, r.stderr
    assert not (tmp_path / "store").exists() and not r.stdout

def test_sweep_dry_run_lists_runs_without_running(tmp_path):
    r = run(BIN / "asgml", "sweep", "--datasets", "synthetic", "--methods", "baseline", "dwa", "--seeds", "0", "--runs", tmp_path, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "3 runs: 3 todo" and f"todo   {tmp_path}/synthetic/dwa/seed0" in r.stdout
    assert not list(tmp_path.iterdir())

def test_jupyterlab_starts():
    r = run(BIN / "jupyter", "lab", "--version")
    assert r.returncode == 0 and r.stdout.strip()[0].isdigit(), r.stderr

def test_python3_kernel_runs_this_environment():
    "The `python3` kernel papermill uses is this environment's Python, with the package importable."
    from jupyter_client.kernelspec import KernelSpecManager
    spec = KernelSpecManager().get_kernel_spec("python3")
    r = run(spec.argv[0], "-c", "import asgml, papermill, sys, json; print(json.dumps(sys.prefix))")
    assert r.returncode == 0, r.stderr
    assert Path(json.loads(r.stdout)).resolve() == Path(sys.prefix).resolve()
