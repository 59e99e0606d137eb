"The training loop end to end: determinism, every fusion, resume, the run's record."
import json
import pytest, torch, yaml
import asgml.record as R
from asgml.registry import get_dataset
import asgml.train as T
from asgml.core import load_config
from conftest import shared_data_or_skip

NUMBERS = ("test_acc", "test_macro_f1", "best_val_acc", "best_epoch", "best_test_acc", "unimodal_test_acc", "utilization_gap", "epochs_to_90pct", "n_params")

def test_same_seed_same_metrics(tmp_path, tiny):
    a = R.run(load_config("synthetic", tiny, seed=3), tmp_path / "a")
    b = R.run(load_config("synthetic", tiny, seed=3), tmp_path / "b")
    c = R.run(load_config("synthetic", tiny, seed=4), tmp_path / "c")
    assert {k: a[k] for k in NUMBERS} == {k: b[k] for k in NUMBERS}
    assert a["test_acc"] != c["test_acc"] or a["unimodal_test_acc"] != c["unimodal_test_acc"]

def test_record_files_and_keys(tmp_path, tiny):
    m = R.run(load_config("synthetic", tiny + ["log.wandb=true"]), tmp_path)
    for k in ("dataset", "method", "seed", "git_commit", "test_acc", "test_macro_f1", "best_val_acc", "best_epoch", "best_test_acc",
              "unimodal_test_acc", "utilization_gap", "epochs_to_90pct", "sec_per_epoch", "n_params"):
        assert k in m, k
    assert json.loads((tmp_path / "metrics.json").read_text()) == m
    cfg = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert cfg["train"]["epochs"] == 2 and cfg["model"]["unimodal_heads"] is False and cfg["seed"] == 0
    assert len((tmp_path / "history.csv").read_text().strip().splitlines()) == 3
    assert list(tmp_path.glob("wandb/offline-run-*/run-*.wandb")), "no offline W&B run file"

@pytest.mark.parametrize("fusion", ["concat", "sum", "film", "gated"])
def test_every_fusion_trains(tmp_path, tiny, fusion):
    m = R.run(load_config("synthetic", tiny + [f"model.fusion={fusion}", "train.epochs=3"]), tmp_path)
    assert m["test_acc"] > 0.3, m["test_acc"]  # chance is 0.1
    assert set(m["unimodal_test_acc"]) == {"easy", "weak"}

def test_three_modalities(tmp_path, tiny):
    over = tiny + ["data.modalities=[a,b,c]", "data.signal=[5,3,2]", "data.difficulty=[0.1,0.2,0.2]", "data.dims=[8,8,8]", "data.sign_flip=[false,false,true]"]
    assert set(R.run(load_config("synthetic", over), tmp_path)["unimodal_test_acc"]) == {"a", "b", "c"}

def test_resume_after_crash_matches_uninterrupted(tmp_path, tiny, monkeypatch):
    cfg = load_config("synthetic", tiny + ["train.epochs=4"])
    full = R.run(cfg, tmp_path / "full")
    saves, real_save = [], R.save_atomically
    def crash_after_two(obj, path):
        real_save(obj, path); saves.append(path)
        if len(saves) == 2: raise KeyboardInterrupt("simulated crash")
    monkeypatch.setattr(R, "save_atomically", crash_after_two)
    with pytest.raises(KeyboardInterrupt): R.run(cfg, tmp_path / "crash")
    monkeypatch.setattr(R, "save_atomically", real_save)
    assert not (tmp_path / "crash" / "metrics.json").exists()
    resumed = R.run(cfg, tmp_path / "crash")
    assert {k: full[k] for k in NUMBERS} == {k: resumed[k] for k in NUMBERS}

def test_finished_run_is_never_overwritten(tmp_path, tiny):
    R.run(load_config("synthetic", tiny), tmp_path)
    before = (tmp_path / "metrics.json").read_text()
    with pytest.raises(Exception, match="already holds a run of another config .train.lr = 0.05 there, 0.2 requested"):
        R.run(load_config("synthetic", tiny + ["train.lr=0.2"]), tmp_path)
    assert (tmp_path / "metrics.json").read_text() == before

def test_skipped_encoder_does_not_move_with_adam(tiny):
    "Invariant: an encoder outside the mask keeps parameters and optimiser state, the head moves (Adam + weight decay)."
    cfg = load_config("synthetic", tiny + ["train.optimizer=adamw", "train.weight_decay=0.1"])
    data = get_dataset("synthetic").build(cfg.data, 0)
    class SkipWeakOddSteps(T.Method):
        def update_mask(self, step): return {"easy"} if step % 2 else {"easy", "weak"}
    tr = T.Trainer(cfg, data, SkipWeakOddSteps())
    tr.model.train()
    batch = data.train[torch.arange(32)]
    tr.train_step(batch)                                   # step 0: both update
    weak = {k: v.clone() for k, v in tr.model.encoders["weak"].state_dict().items()}
    adam = {k: v.clone() for k, v in tr.encoder_opts["weak"].state_dict()["state"][0].items()}
    head = tr.model.fusion.fc.weight.clone()
    tr.train_step(batch)                                   # step 1: weak is skipped
    assert all(torch.equal(weak[k], v) for k, v in tr.model.encoders["weak"].state_dict().items())
    assert all(torch.equal(adam[k], v) for k, v in tr.encoder_opts["weak"].state_dict()["state"][0].items())
    assert not torch.equal(head, tr.model.fusion.fc.weight)

def test_avdigits_one_epoch(tmp_path):
    shared_data_or_skip("fsdd", "recordings")
    cfg = load_config("avdigits", ["train.epochs=1", "data.max_per_split=200", "log.wandb=false", "log.progress=false"])
    m = R.run(cfg, tmp_path)
    assert set(m["unimodal_test_acc"]) == {"audio", "image"} and m["epochs"] == 1
