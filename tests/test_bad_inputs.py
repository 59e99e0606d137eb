"""Every mistake a new user makes in their first hour is one sentence (issue 14).

Each row of `CASES` is a command line, the files it needs and the words its message must hold (the key, file or value
and what is expected). It runs in a temporary folder through `asgml.cli.main` in-process (two rows also through the
real `asgml` entry point in a subprocess, where a traceback would show) and must: exit with a non-zero status, print
no traceback, name what to change, and leave the folder exactly as it was: nothing created (no empty run folder),
nothing removed, nothing rewritten.
"""
import dataclasses, os, subprocess, sys, typing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
import numpy as np, pytest, yaml
from asgml.cli import main
from asgml.core import ConfigError, load_config
from asgml.registry import DATASETS, get_dataset, known_datasets

TINY = ["--set", "data.n_train=60", "--set", "data.n_val=30", "--set", "data.n_test=30", "--set", "train.epochs=1",
        "--set", "log.wandb=false", "--set", "log.progress=false"]
NPZ = ["--config", "npz", "--set", "data.path=data.npz", "--set", "train.epochs=1", "--set", "log.wandb=false", "--set", "log.progress=false"]
READ_ONLY = "/proc" if os.geteuid() == 0 else "read_only"   # root writes through permission bits; /proc takes no file

def write_npz(**change) -> None:
    "data.npz in the current folder: two modalities, 3 classes, index splits; `change` replaces (or adds) arrays."
    rng, y = np.random.default_rng(0), np.arange(60) % 3
    a = dict(audio=rng.normal(size=(60, 4)), video=rng.normal(size=(60, 3)), labels=y,
             train_idx=np.arange(40), val_idx=np.arange(40, 50), test_idx=np.arange(50, 60))
    np.savez("data.npz", **(a | change))

def label_7_in_row_5() -> np.ndarray:
    y = np.arange(60) % 3; y[5] = 7
    return y

def corrupt_checkpoint() -> None:
    "run/ holding the config of the TINY synthetic run and a checkpoint.pt cut short, as an interrupted copy leaves it."
    from asgml.hooks import build_method
    from asgml.record import resolved_config
    cfg = load_config("synthetic", TINY[1::2]); Path("run").mkdir()
    Path("run/config.yaml").write_text(yaml.safe_dump(resolved_config(cfg, build_method(cfg.method)), sort_keys=False))
    Path("run/checkpoint.pt").write_bytes(b"half a checkpoint")

def store_with_a_train_out_run() -> None:
    "store/try1: a finished run made with `asgml train ... --out store/try1`, the store's only run."
    from asgml.report import write_fixture_run
    write_fixture_run(Path("store"), "baseline", 0, 0.8).rename("store/try1")
    for p in (Path("store/synthetic/baseline"), Path("store/synthetic")): p.rmdir()

def read_only_folder() -> None:
    if READ_ONLY == "read_only": Path("read_only").mkdir(mode=0o555)

@dataclass
class Case:
    name: str
    argv: list[str]
    expect: list[str]                      # words the message must hold
    setup: Callable[[], None] | None = None
    subprocess: bool = False               # also run through the real entry point

CASES = [
    Case("YAML syntax error in a config file", ["train", "--config", "bad.yaml", "--out", "run"],
         ["bad.yaml is not valid YAML", "at line 3, column 11", "expected ',' or ']'"],
         lambda: Path("bad.yaml").write_text("dataset: synthetic\ntrain:\n  epochs: [1\n"), subprocess=True),
    Case("YAML syntax error in a --set value", ["train", "--config", "synthetic", "--set", "train.epochs=[1", "--out", "run"],
         ["override 'train.epochs=[1'", "'[1' is not a valid YAML value"]),
    Case("negative --seed", ["train", "--config", "synthetic", "--seed", "-1", *TINY, "--out", "run"],
         ["seed = -1 is out of range; allowed 0 .. 4294967295"], subprocess=True),
    Case(".nan for a float key", ["train", "--config", "synthetic", *TINY, "--set", "train.lr=.nan", "--out", "run"],
         ["train.lr = nan is not a finite number"]),
    Case(".inf for a float key", ["train", "--config", "synthetic", *TINY, "--set", "asgml.threshold_delta=.inf", "--out", "run"],
         ["asgml.threshold_delta = inf is not a finite number"]),
    Case("-.inf for a float key in a config file", ["train", "--config", "neg.yaml", "--out", "run"],
         ["methods.ogm_ge.alpha = -inf is not a finite number"],
         lambda: Path("neg.yaml").write_text("dataset: synthetic\nmethods:\n  ogm_ge:\n    alpha: -.inf\n")),
    Case("a choice misspelt", ["train", "--config", "synthetic", *TINY, "--set", "model.fusion=flim", "--out", "run"],
         ["model.fusion = 'flim' is not allowed (did you mean 'film'?)", "'concat', 'sum', 'film', 'gated'"]),
    Case("a key misspelt", ["train", "--config", "synthetic", *TINY, "--set", "train.bacth_size=8", "--out", "run"],
         ["unknown key 'train.bacth_size' (did you mean 'batch_size'?)"]),
    Case("--out under a regular file", ["train", "--config", "synthetic", *TINY, "--out", "notes.txt/run"],
         ["output folder notes.txt/run lies under notes.txt, which is a file"], lambda: Path("notes.txt").write_text("mine")),
    Case("--out not writable, found before the data is built", ["train", "--config", "npz", "--out", READ_ONLY],
         [f"output folder {READ_ONLY} is not writable"], read_only_folder),
    Case("a corrupt checkpoint.pt on resume", ["train", "--config", "synthetic", *TINY, "--out", "run"],
         ["run/checkpoint.pt cannot be read (UnpicklingError", "delete it"], corrupt_checkpoint),
    Case("npz: an empty validation split", ["train", *NPZ, "--out", "run"],
         ["data.npz: val_idx is empty", "or leave val_idx out"], lambda: write_npz(val_idx=np.array([], int))),
    Case("npz: an empty test split", ["train", *NPZ, "--out", "run"],
         ["data.npz: test_idx is empty"], lambda: write_npz(test_idx=np.array([], int))),
    Case("npz: an array of Python strings (dtype object)", ["train", *NPZ, "--out", "run"],
         ["data.npz: array 'subject' holds Python objects (dtype object)", "np.asarray(x, dtype=str)"],
         lambda: write_npz(subject=np.array([f"s{i}" for i in range(60)], dtype=object))),
    Case("npz: a string array named as a modality", ["train", *NPZ, "--set", "data.modalities=[audio,files]", "--out", "run"],
         ["data.modalities names 'files', which has dtype <U3, not bool / int / float"],
         lambda: write_npz(files=np.array([f"f{i:02d}" for i in range(60)]))),
    Case("npz: split indices written as strings", ["train", *NPZ, "--out", "run"],
         ["train_idx must be a 1-D array of integer row indices, got <U2 (40,)"],
         lambda: write_npz(train_idx=np.array([str(i) for i in range(40)]))),
    Case("npz: an all-NaN modality", ["train", *NPZ, "--out", "run"],
         ["modality 'video' has no finite value in the train split"], lambda: write_npz(video=np.full((60, 3), np.nan))),
    Case("npz: a label out of range", ["train", *NPZ, "--out", "run"],
         ["label 7 (row 5) is outside the allowed 0 .. 3", "or set data.n_classes"], lambda: write_npz(labels=label_7_in_row_5())),
    Case("npz: a label out of data.n_classes", ["train", *NPZ, "--set", "data.n_classes=3", "--out", "run"],
         ["label 7 (row 5) is outside the allowed 0 .. 2 (data.n_classes = 3)"], lambda: write_npz(labels=label_7_in_row_5())),
    Case("a data error leaves no new run folder", ["train", "--config", "npz", "--out", "new/deep/run"], ["data.path is not set"]),
    Case("a data error keeps a folder that existed", ["train", "--config", "npz", "--out", "mine"], ["data.path is not set"],
         lambda: (Path("mine").mkdir(), Path("mine/notes.txt").write_text("mine"))),
    Case("asgml report over a store holding only an --out run", ["report", "--runs", "store", "--out", "paper"],
         ["skipping the run in store/try1", "move it to store/synthetic/baseline/seed0", "no finished runs"], store_with_a_train_out_run),
    Case("asgml prepare synthetic", ["prepare", "synthetic", "--root", ".", "--out", "cache"],
         ["dataset 'synthetic' needs no prepare step", "the datasets with a prepare step are avdigits, ave, chsims, cremad, ks, mosei, mosi"]),
    Case("asgml prepare with a --param that is not YAML", ["prepare", "cremad", "--root", ".", "--out", "cache", "--param", "fps=[1"],
         ["--param 'fps=[1': '[1' is not a valid YAML value"]),
    Case("asgml prepare cremad on a folder that is not CREMA-D", ["prepare", "cremad", "--root", "nowhere", "--out", "cache"],
         ["nowhere is not a CREMA-D root", "AudioWAV"]),
]

def snapshot(folder: Path) -> dict[str, tuple]:
    "Every path below `folder` with its size and modification time."
    return {str(p.relative_to(folder)): (p.is_dir(), p.stat().st_size if p.is_file() else 0, p.stat().st_mtime_ns) for p in folder.rglob("*")}

def run_in_process(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as e: main(argv)
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return e.value.code, out.out + out.err

def run_entry_point(argv: list[str]) -> tuple[int, str]:
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([str(Path(sys.executable).parent / "asgml"), *argv], capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, r.stdout + r.stderr

@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_one_sentence_and_nothing_left_behind(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    if case.setup: case.setup()
    before = snapshot(tmp_path)
    runs = [run_in_process(case.argv, capsys)] + ([run_entry_point(case.argv)] if case.subprocess else [])
    for code, text in runs:
        assert code != 0, text
        missing = [w for w in case.expect if w not in text]
        assert not missing, f"the message does not say {missing}:\n{text}"
        assert len([l for l in text.splitlines() if "error:" in l]) <= 1, text
    assert snapshot(tmp_path) == before, "the command left something behind, or changed what was there"

def float_keys(cls: type, prefix: str) -> list[tuple[str, bool]]:
    "(key, holds a list) of every float field of dataclass `cls`, nested sections included."
    hints, keys = typing.get_type_hints(cls), []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp): keys += float_keys(tp, f"{prefix}{f.name}.")
        elif tp is float or float in typing.get_args(tp): keys.append((prefix + f.name, typing.get_origin(tp) is list))
    return keys

def one_config_per_dataset() -> dict[str, str]:
    "A shipped config name for every registered dataset."
    names = {}
    for n in known_datasets():
        try: names.setdefault(load_config(n).dataset, n)
        except ConfigError: pass
    return names

def value_at(cfg: object, key: str) -> object:
    for part in key.split("."): cfg = cfg[part] if isinstance(cfg, dict) else getattr(cfg, part)
    return cfg

def test_every_float_key_refuses_nan_and_inf_and_reads_scientific_notation():
    "Finite floats only, for every float key of every section and dataset; `25e-2` (a string to YAML 1.1) is the number 0.25."
    checked, nonfinite = set(), (".nan", ".inf", "-.inf")
    for dataset, name in one_config_per_dataset().items():
        cfg = load_config(name)
        sections = {k: type(v) for k, v in vars(cfg).items() if dataclasses.is_dataclass(v)} | {f"methods.{n}": type(v) for n, v in cfg.methods.items()}
        for i, (key, is_list) in enumerate(k for s, cls in sections.items() for k in float_keys(cls, f"{s}.")):
            bad = nonfinite[i % 3]
            with pytest.raises(ConfigError, match="is not a finite number") as e: load_config(name, [f"{key}={f'[{bad}]' if is_list else bad}"])
            assert key in str(e.value)
            if (default := value_at(cfg, key)) is None or is_list: continue
            written = f"{round(default * 1e6)}e-6"
            assert value_at(load_config(name, [f"{key}={written}"]), key) == pytest.approx(default), (name, key, written)
            checked.add(f"{dataset}:{key}")
    assert len(checked) > 250 and {"npz:data.val_frac", "cremad:train.lr", "synthetic:methods.ogm_ge.alpha"} <= checked

def test_report_skips_an_out_run_with_a_sentence_and_reports_the_rest(tmp_path, capsys):
    from asgml.report import write_fixture_run
    for seed in (0, 1): write_fixture_run(tmp_path / "store", "baseline", seed, 0.8)
    write_fixture_run(tmp_path / "store", "baseline", 2, 0.7).rename(tmp_path / "store" / "try1")
    main(["report", "--runs", str(tmp_path / "store"), "--out", str(tmp_path / "paper")])
    out = capsys.readouterr().out
    assert out.count("skipping the run in") == 1 and f"skipping the run in {tmp_path / 'store' / 'try1'}" in out
    assert (tmp_path / "paper" / "tables" / "synthetic_ablation.md").exists()
