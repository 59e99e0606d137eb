"A method added in one cell (here: one module) is trainable from the CLI, with a validated config section and a display name."
import os, subprocess, sys, textwrap
from pathlib import Path
import pytest, yaml
from asgml.record import read_saved_config   # imported before any fixture swaps the registry's tables

TOY = textwrap.dedent('''
    from dataclasses import dataclass
    from asgml.core import opt
    from asgml.hooks import Method, scale_grads
    from asgml.registry import register_method

    @dataclass
    class ToyConfig:
        "Toy: every encoder gradient times a factor."
        factor: float = opt(0.5, lo=0.0, hi=1.0, doc="the gradient factor")

    @register_method("toy", ToyConfig, display="Toy scaling", family="gradient modulation")
    class Toy(Method):
        def after_backward(self, s):
            for e in self.ctx.model.encoders.values(): scale_grads(e.parameters(), self.cfg.factor)
            return {"toy/factor": self.cfg.factor}
''')
TINY = ["train.epochs=1", "data.n_train=200", "data.n_val=100", "data.n_test=100", "log.wandb=false", "train.batch_size=50"]

def asgml(args: list[str], plugins: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ASGML_PLUGINS": "toy_plugin", "PYTHONPATH": os.pathsep.join([str(plugins), str(Path(__file__).parents[1])]),
           "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    return subprocess.run([sys.executable, "-c", "from asgml.cli import main; main()", *args], capture_output=True, text=True, env=env, timeout=600)

def test_toy_method_from_one_module(tmp_path):
    (tmp_path / "toy_plugin.py").write_text(TOY)
    sets = [a for s in TINY + ["methods.toy.factor=0.25"] for a in ("--set", s)]
    r = asgml(["train", "--config", "synthetic", "--method", "toy", *sets, "--out", str(tmp_path / "run")], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["method"] == "toy" and saved["methods"]["toy"] == {"factor": 0.25}
    bad = asgml(["train", "--config", "synthetic", "--method", "toy", "--set", "methods.toy.factor=2", "--out", str(tmp_path / "bad")], tmp_path)
    assert bad.returncode != 0 and "methods.toy.factor" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad").exists()

def test_toy_method_display_name(tmp_path, monkeypatch, scratch_registry):
    (tmp_path / "toy_plugin.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(tmp_path)); monkeypatch.setenv("ASGML_PLUGINS", "toy_plugin")
    from asgml.registry import display_name, known_methods, sweep_methods
    assert "toy" in known_methods() and display_name("toy") == "Toy scaling" and "toy" in sweep_methods()

def test_saved_config_is_completed_again_once_a_plugin_registers(tmp_path, monkeypatch, scratch_registry):
    "`read_saved_config` caches each file's completed config; a method registered since completes it with its section."
    f = tmp_path / "config.yaml"; f.write_text(yaml.safe_dump({"dataset": "synthetic", "seed": 0}))
    for _ in range(2): assert "toy" not in read_saved_config(f)["methods"]   # the second read comes from the cache
    (tmp_path / "toy_plugin.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(tmp_path)); monkeypatch.setenv("ASGML_PLUGINS", "toy_plugin")
    scratch_registry.load_methods()
    assert read_saved_config(f)["methods"]["toy"] == {"factor": 0.5}
