"""Every method of the sweep on data with one modality: it refuses before training (`UnsupportedModalities`, naming
the count it is defined for), or it trains without a numerical warning (an empty 'others' mean is NaN, silently)."""
import math, warnings
import pytest
from asgml.core import load_config
from asgml.hooks import UnsupportedModalities
from asgml.record import run
from asgml.registry import sweep_methods

ONE = ["data.modalities=[easy]", "data.signal=[5.0]", "data.difficulty=[0.1]", "data.dims=[32]", "data.sign_flip=[false]"]
TINY = ["train.epochs=2", "data.n_train=200", "data.n_val=100", "data.n_test=100", "log.wandb=false", "log.progress=false", "probe.enabled=true"]

@pytest.mark.parametrize("method", sweep_methods())
def test_one_modality_is_refused_or_trains_cleanly(method, tmp_path):
    cfg = load_config("synthetic", [*ONE, *TINY, f"method={method}"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try: metrics = run(cfg, tmp_path)
        except UnsupportedModalities as e:
            assert "the data has 1 (easy)" in str(e) and not (tmp_path / "checkpoint.pt").exists()
            return
    assert not math.isnan(metrics["test_acc"]) and metrics["test_acc"] > 0.15, metrics["test_acc"]   # chance is 0.10
