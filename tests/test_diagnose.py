"""`asgml diagnose` end to end (papermill template, record, report), the post-hoc probe's use of the splits, the probe
cadence per epoch and training a subset of the modalities."""
import json, subprocess, sys
from pathlib import Path
import pandas as pd, pytest, torch
import asgml.probes as probes
from asgml.core import ConfigError, load_config, seed_everything
from asgml.registry import get_dataset
from asgml.models import build_model
from asgml.report import write_report
from asgml.record import run
from conftest import TINY

ROOT = Path(__file__).resolve().parents[1]
ASGML = str(Path(sys.executable).parent / "asgml")
SMALL = ["data.n_train=400", "data.n_val=200", "data.n_test=400", "train.epochs=3", "log.wandb=false"]

def test_diagnose_command_writes_record_and_report_shows_it_first(tmp_path):
    args = ["diagnose", "synthetic", "--seeds", "0", "--runs", str(tmp_path), *sum((["--set", o] for o in SMALL), [])]
    r = subprocess.run([ASGML, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    folder = tmp_path / "synthetic" / "diagnosis"
    assert (folder / "seed0.ipynb").exists() and (folder / "diagnosis.png").exists()
    rec = json.loads((folder / "seed0.json").read_text())
    for m in ("easy", "weak"):
        p = rec["probe"][m]
        assert 0.1 < p["untrained"] <= p["alone"] <= 1, (m, p)   # training a learnable encoder alone never loses to its initial weights
    assert rec["test_acc"]["alone_easy"] > rec["test_acc"]["alone_weak"]
    summary = json.loads((folder / "diagnosis.json").read_text())
    assert summary["modalities"]["weak"]["suppression"]["diff"] == pytest.approx(100 * (rec["probe"]["weak"]["alone"] - rec["probe"]["weak"]["joint"]))
    assert "| weak " in r.stdout and "complementarity" in r.stdout
    for v in ("alone_easy", "alone_weak", "joint", "joint+unimodal"):
        cfg = json.loads((folder / v / "seed0" / "metrics.json").read_text())
        assert set(cfg["probe_test_acc"]) == ({v[6:]} if v.startswith("alone_") else {"easy", "weak"})
    again = subprocess.run([ASGML, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)   # finished runs are read, not retrained
    assert again.returncode == 0 and json.loads((folder / "seed0.json").read_text()) == rec
    tables = write_report(tmp_path, tmp_path / "paper")
    assert list(tables)[:2] == ["diagnosis overview", "synthetic diagnosis"]
    assert (tmp_path / "paper" / "tables" / "diagnosis_overview.tex").exists()

def test_posthoc_probe_fits_on_train_and_chooses_on_validation(monkeypatch):
    cfg = load_config("synthetic", TINY)
    data = get_dataset("synthetic").build(cfg.data, 0)
    model = build_model(cfg.model, data.input_shapes, data.n_classes)
    fitted, real_fit = [], probes.fit_linear_probe
    monkeypatch.setattr(probes, "fit_linear_probe", lambda x, *a, **k: fitted.append(len(x)) or real_fit(x, *a, **k))
    out = probes.posthoc_probes(model, data, 64, torch.device("cpu"))
    assert set(fitted) == {len(data.train)} and len(fitted) == 2 * len(probes.POSTHOC_L2)
    flipped = data.test.subset(torch.arange(len(data.test))); flipped.labels = (flipped.labels + 1) % data.n_classes
    out2 = probes.posthoc_probes(model, type(data)(data.train, data.val, flipped, data.n_classes), 64, torch.device("cpu"))
    for m in out: assert (out2[m]["l2"], out2[m]["val_acc"]) == (out[m]["l2"], out[m]["val_acc"]) and out2[m]["test_acc"] != out[m]["test_acc"]

def test_probe_per_epoch_sets_the_measurement_interval(tmp_path):
    cfg = load_config("synthetic", [*TINY, "probe.enabled=true", "probe.per_epoch=3", "train.batch_size=50"])   # 300 / 50 = 6 steps an epoch
    m = run(cfg, tmp_path)
    steps = pd.read_csv(tmp_path / "probes.csv").step.drop_duplicates()
    assert m["steps_per_epoch"] == 6 and list(steps) == [2, 4, 6, 8, 10, 12]

def test_model_modalities_trains_one_encoder_and_names_unknown_ones(tmp_path):
    m = run(load_config("synthetic", [*TINY, "model.modalities=[weak]"]), tmp_path)
    assert set(m["unimodal_test_acc"]) == {"weak"} and set(m["probe_test_acc"]) == {"weak"}
    with pytest.raises(ConfigError, match=r"model.modalities names \['audio'\] but the data has \['easy', 'weak'\]"):
        run(load_config("synthetic", [*TINY, "model.modalities=[audio]"]), tmp_path / "x")
