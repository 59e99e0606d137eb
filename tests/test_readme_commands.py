"""The README's commands work as written, on a fresh clone of the committed project.

Every fenced block that follows a `<!-- run: ... -->` line in README.md holds commands meant to be run. Each one runs
in a `git clone` of this checkout's HEAD (so commit first: a clone has only what is committed), with `.venv` there
linked to this environment and PYTHONPATH at the clone instead of `make setup`, plus the few arguments RULES appends to
make it cheap (one epoch, one seed, `--dry-run` for sweeps of hundreds of runs: tests/test_sweep.py runs sweeps). A
command too expensive to run here is skipped with its reason. A command no rule names fails the test: add a rule."""
import re, shlex, subprocess, sys
from pathlib import Path
import pytest
from asgml.core import resolve_data_root

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent
MARKER = re.compile(r"<!-- run:[^>]*-->\n```\w*\n(.*?)\n```", re.S)
TINY = ["--set", "train.epochs=1", "--set", "log.progress=false"]
RULES = [   # (pattern searched in the command, the arguments appended, or the reason it is skipped)
    (r"^make (demo|test)$", "sets up the 6.8 GB environment (Debian packages, pip install -e .[dev]), then runs the demo / every test"),
    (r"^make paper$", "installs Debian's TeX Live on first use"),
    (r"asgml (--help|config (show \w+|list))$", []),
    (r"asgml train ", TINY),
    (r"papermill nbs/experiments/(run|diagnose)\.ipynb ", ["-p", "overrides", "train.epochs=1"]),
    (r"asgml diagnose ", ["--seeds", "0"]),          # reads the committed diagnosis runs of seed 0, recomputes what is not stored
    (r"asgml sweep ", ["--dry-run"]),               # every check against the committed store, nothing trained
    (r"asgml report$", ["--datasets", "synthetic_slow"]),
]
FILES_A_READER_WRITES = {"my_grid.yaml": "k_ratio: [2, 3, 4]\neval_freq: [50, 100]\n"}   # the README's example grid

def readme_commands() -> list[str]:
    "Each command of the marked blocks, its trailing comment removed."
    lines = [l for block in MARKER.findall((ROOT / "README.md").read_text()) for l in block.splitlines()]
    return [shlex.join(shlex.split(l, comments=True)) for l in lines if l.strip() and not l.lstrip().startswith("#")]

def rule(command: str) -> list[str] | str:
    "The arguments to append to `command`, or why it is skipped."
    hit = next((action for pattern, action in RULES if re.search(pattern, command)), None)
    if hit is None: pytest.fail(f"README command {command!r} matches no rule in tests/test_readme_commands.py: say how to run it cheaply, or why not")
    return hit

@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    "A fresh clone of HEAD with this environment as its `.venv` and the files a reader writes."
    dest = tmp_path_factory.mktemp("readme") / "asgml"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True)
    (dest / ".venv").symlink_to(VENV)
    for name, text in FILES_A_READER_WRITES.items(): (dest / name).write_text(text)
    return dest

def test_readme_marks_its_commands_and_every_rule_is_used():
    commands = readme_commands()
    assert len(commands) >= 15 and any(c.startswith(".venv/bin/asgml sweep") for c in commands), commands
    unused = [p for p, _ in RULES if not any(re.search(p, c) for c in commands)]
    assert not unused, f"rules that match no README command: {unused}"

@pytest.mark.parametrize("command", readme_commands(), ids=lambda c: c.removeprefix(".venv/bin/")[:90])
def test_readme_command_runs_on_a_fresh_clone(clone, command):
    action = rule(command)
    if isinstance(action, str): pytest.skip(action)
    data = resolve_data_root(None)
    if "avdigits" in command and not (data / "fsdd").exists(): pytest.skip(f"AV-digits data not found at {data}")
    env = {"PATH": f"{VENV / 'bin'}:/usr/bin:/bin", "HOME": str(Path.home()), "PYTHONPATH": str(clone), "ASGML_DATA_ROOT": str(data),
           "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    r = subprocess.run([*shlex.split(command), *action], cwd=clone, env=env, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0 and "Traceback" not in r.stderr, f"{command} {shlex.join(action)}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
