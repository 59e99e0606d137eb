"Config errors name the key, the value and what is allowed, before anything runs."
import pytest
from asgml.core import ConfigError, load_config

def err(*args, **kw) -> str:
    with pytest.raises(ConfigError) as e: load_config(*args, **kw)
    return str(e.value)

def test_shipped_configs_validate():
    for name in ("synthetic", "avdigits"): assert load_config(name).dataset == name

def test_unknown_key_names_key_and_suggests():
    msg = err("synthetic", ["train.bacth_size=3"])
    assert "unknown key 'train.bacth_size'" in msg and "did you mean 'batch_size'" in msg

def test_unknown_section():
    assert "unknown key 'trian'" in err("synthetic", ["trian.lr=1"])

def test_wrong_type_names_value_and_type():
    assert err("synthetic", ["train.epochs=two"]) == "train.epochs = 'two' has type str; expected int"

def test_out_of_range_and_choices():
    assert "train.lr = -1.0 is out of range" in err("synthetic", ["train.lr=-1"])
    assert "model.fusion = 'mean' is not allowed; choose one of ['concat', 'sum', 'film', 'gated']" in err("synthetic", ["model.fusion=mean"])
    assert "data.difficulty = 1.5 is out of range" in err("synthetic", ["data.difficulty=[0.1,1.5]"])

def test_unknown_dataset_lists_known(tmp_path):
    f = tmp_path / "c.yaml"; f.write_text("dataset: cremad_typo\n")
    msg = err(f)
    assert "dataset = 'cremad_typo' is unknown" in msg and "synthetic" in msg

def test_missing_config_file():
    assert "config 'nope.yaml' not found" in err("nope.yaml")

def test_required_keys_overridable():
    cfg = load_config("avdigits", ["data.root=/somewhere", "train.epochs=3", "train.batch_size=8", "train.lr=0.1", "model.fusion=film"])
    assert (cfg.data.root, cfg.train.epochs, cfg.train.batch_size, cfg.train.lr, cfg.model.fusion) == ("/somewhere", 3, 8, 0.1, "film")

def test_bad_override_syntax():
    assert "section.key=value" in err("synthetic", ["train.lr"])

def test_missing_data_root_names_path_without_any_data(tmp_path):
    "Runs even where the shared data is absent: the loader's error names the missing path and the layout."
    from asgml.registry import get_dataset
    cfg = load_config("avdigits", [f"data.root={tmp_path / 'nowhere'}"])
    with pytest.raises((FileNotFoundError, ConfigError)) as e: get_dataset("avdigits").build(cfg.data, 0)
    assert str(tmp_path / "nowhere") in str(e.value) and "fsdd/recordings" in str(e.value)

def test_method_settings_refused_before_anything_is_written(tmp_path, capsys):
    "An ASGML method without probes, or a method with its own unimodal losses given the auxiliary loss too: one sentence, exit 2, no run folder."
    from asgml.cli import main
    for method, key in (("asgml_adaptive", "probe.enabled=false"), ("ogm_ge+asgml_frequency", "probe.enabled=false"), ("dwa", "train.unimodal_aux_loss=true")):
        with pytest.raises(SystemExit) as e: main(["train", "--config", "synthetic", "--method", method, "--set", key, "--out", str(tmp_path / method)])
        assert e.value.code == 2 and key.split("=")[0] in capsys.readouterr().err
        assert not (tmp_path / method).exists()
