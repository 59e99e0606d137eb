"""What a new user runs first: `asgml --help` and each sub-command's help, JupyterLab, and the Jupyter kernel that
papermill runs the experiment template in (tests/test_papermill_cli.py executes the template itself)."""
import argparse, json, subprocess, sys
from pathlib import Path
import pytest
from asgml.cli import parser

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
