"""The report's statistics and rows: paired by seed where arms pair up (worked numbers against scipy), Welch's test where
they do not, loss protocols as an axis, variant tags as ablation rows, the validation pick of the sensitivity table, and
the committed store (which predates `loss_protocol`) still reporting."""
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import re
from pathlib import Path
import numpy as np, pandas as pd
import pytest
from scipy import stats
from asgml.experiments import load_runs, runs_root
from asgml.report import (FIGURES, VARIANT_KEYS, ablation_table, compare, paired, plot_paired_differences, reference, run_groups,
                          sensitivity_table, split_grid, write_fixture_run, write_report)

UNI = dict(protocol="joint+unimodal", point="train.unimodal_aux_loss=true")

def store(root: Path, *arms: tuple) -> pd.DataFrame:
    "Write each arm (method, {seed: test accuracy}, `write_fixture_run` keywords) under `root` and load the store."
    for method, accs, *kw in arms:
        for seed, acc in accs.items(): write_fixture_run(root, method, seed, acc, **(kw[0] if kw else {}))
    return load_runs(root / "synthetic")

def arm(runs: pd.DataFrame, method: str, protocol: str = "joint") -> pd.DataFrame:
    g = run_groups(runs)
    return g[g.group == reference(g, method, protocol)]

def row(table: pd.DataFrame, method: str, protocol: str = "joint") -> pd.Series:
    return table[(table.method == method) & (table.protocol == protocol)].squeeze()

def test_paired_worked_numbers(tmp_path):
    runs = store(tmp_path, ("baseline", {0: 0.70, 1: 0.75, 2: 0.72, 3: 0.78}), ("ogm_ge", {0: 0.73, 1: 0.76, 2: 0.76, 3: 0.80}))
    a, b = arm(runs, "ogm_ge"), arm(runs, "baseline")
    assert paired(a, b)
    d = np.array([3.0, 1.0, 4.0, 2.0])                       # per-seed differences in points: mean 2.5
    se = d.std(ddof=1) / np.sqrt(4)                          # √(5/3) / 2 = 0.6455
    half = stats.t.ppf(0.975, df=3) * se                     # 3.182 × 0.6455 = 2.054
    assert se == pytest.approx(np.sqrt(5 / 3) / 2) and round(half, 3) == 2.054
    c = compare(a, b)
    assert c.paired and c.diff == pytest.approx(2.5) and (c.lo, c.hi) == pytest.approx((2.5 - half, 2.5 + half))
    assert c.p == pytest.approx(2 * stats.t.sf(2.5 / se, df=3)) == pytest.approx(stats.ttest_rel(a.test_acc, b.test_acc).pvalue)
    assert row(ablation_table(runs), "OGM-GE")["vs baseline"] == "+2.50 [+0.45, +4.55] (p=0.030)*"

@pytest.mark.parametrize("other", [{"seeds": (2, 3, 4)}, {"seeds": (3, 4, 5)}, {"data": {"n_train": 300}}])   # one shared seed, none, another data config
def test_unpaired_arms_fall_back_to_welch(tmp_path, other):
    seeds = other.get("seeds", (0, 1, 2))
    runs = store(tmp_path, ("baseline", {0: 0.80, 1: 0.82, 2: 0.81}), ("ogm_ge", dict(zip(seeds, [0.86, 0.87, 0.89])), {"data": other.get("data")}))
    a, b = arm(runs, "ogm_ge"), arm(runs, "baseline")
    c = compare(a, b)
    welch = stats.ttest_ind(a.test_acc, b.test_acc, equal_var=False)
    assert not paired(a, b) and not c.paired
    assert c.p == pytest.approx(welch.pvalue) and c.diff == pytest.approx(100 * (a.test_acc.mean() - b.test_acc.mean()))
    assert (c.lo, c.hi) == pytest.approx(tuple(100 * np.array(welch.confidence_interval())))
    assert row(ablation_table(runs), "OGM-GE")["vs baseline"].endswith(", Welch, unpaired)*")

def test_arms_with_other_seed_sets_pair_on_the_shared_seeds(tmp_path):
    runs = store(tmp_path, ("baseline", {0: 0.80, 1: 0.82, 2: 0.81}), ("ogm_ge", {1: 0.86, 2: 0.87, 3: 0.89, 4: 0.90}))
    a, b = arm(runs, "ogm_ge"), arm(runs, "baseline")
    c = compare(a, b)                                        # seeds 1 and 2: differences 4 and 6 points
    assert paired(a, b) and c.paired and c.shared == 2 and c.diff == pytest.approx(5.0)
    assert c.p == pytest.approx(stats.ttest_rel([0.86, 0.87], [0.82, 0.81]).pvalue)
    assert row(ablation_table(runs), "OGM-GE")["vs baseline"].endswith(", 2 shared seeds)")

def test_each_protocol_against_its_own_baseline(tmp_path):
    runs = store(tmp_path, ("baseline", {0: 0.80, 1: 0.82}), ("ogm_ge", {0: 0.85, 1: 0.86}), ("ogm_ge", {0: 0.90, 1: 0.92}, UNI),
                 ("mmpareto", {0: 0.83, 1: 0.84}, {"protocol": "own"}))
    t = ablation_table(runs)
    assert list(zip(t.method, t.protocol)) == [("Baseline", "joint"), ("OGM-GE", "joint"), ("OGM-GE", "joint+unimodal"), ("MMPareto", "own")]
    assert row(t, "OGM-GE")["vs baseline"].startswith("+4.50 ")
    assert row(t, "OGM-GE", "joint+unimodal")["vs baseline"] == "–"     # no joint+unimodal baseline: no comparison
    assert row(t, "MMPareto", "own")["vs baseline"] == "–"
    assert row(t, "MMPareto", "own")["vs OGM-GE"].startswith("-7.50 ")   # against OGM-GE under joint+unimodal
    with_base = store(tmp_path, ("baseline", {0: 0.81, 1: 0.85}, UNI))
    assert row(ablation_table(with_base), "MMPareto", "own")["vs baseline"].startswith("+0.50 ")

def test_older_runs_take_their_protocol_from_the_config(tmp_path):
    runs = store(tmp_path, ("baseline", {0: 0.80, 1: 0.82}, {"legacy": True}), ("baseline", {0: 0.83, 1: 0.86}, UNI | {"legacy": True}))
    assert "loss_protocol" not in runs
    assert list(ablation_table(runs).protocol) == ["joint", "joint+unimodal"]

def test_variant_tags_are_ablation_rows_and_other_keys_grid_points(tmp_path):
    assert VARIANT_KEYS == ("train.unimodal_aux_loss", "asgml.schedule_target", "asgml.probe_signal")
    runs = store(tmp_path, ("asgml_frequency", {0: 0.80, 1: 0.82}), ("asgml_frequency", {0: 0.78, 1: 0.79}, {"point": "asgml.schedule_target=weakest"}),
                 ("asgml_frequency", {0: 0.81, 1: 0.84}, {"point": "asgml.k_ratio=3", "lr": 0.1}))
    own, points = split_grid(runs)
    assert (len(own), len(points)) == (4, 2)
    assert list(ablation_table(runs).method) == ["ASGML fixed frequency", "ASGML fixed frequency [schedule_target = weakest]"]

def test_sensitivity_shows_validation_and_marks_its_pick(tmp_path):
    grid = lambda k: {"point": f"asgml.k_ratio={k}", "lr": k / 100, "val": 0.93}   # a tie on validation: it goes to the lower value
    runs = store(tmp_path, ("asgml_adaptive", {0: 0.80, 1: 0.82}, {"val": 0.90}), ("asgml_adaptive", {0: 0.79, 1: 0.80}, grid(3)),
                 ("asgml_adaptive", {0: 0.85, 1: 0.86}, grid(4)))
    s = sensitivity_table(runs)
    assert list(s.setting) == ["default", "k_ratio = 3 †", "k_ratio = 4"]
    assert list(s["val acc (%)"]) == ["90.00 ± 0.00", "93.00 ± 0.00", "93.00 ± 0.00"]
    assert s["vs default"].iloc[2].startswith("+4.50 [") and "Welch" not in s["vs default"].iloc[2]

def test_write_report_draws_the_paired_differences(tmp_path):
    store(tmp_path, ("baseline", {0: 0.80, 1: 0.82}), ("ogm_ge", {0: 0.85, 1: 0.86}))
    write_report(tmp_path, tmp_path / "paper")
    assert "paired_differences" in FIGURES and (tmp_path / "paper" / "figures" / "synthetic_paired_differences.png").exists()
    assert "paired by seed" in (tmp_path / "paper" / "tables" / "synthetic_ablation.md").read_text()

@pytest.mark.skipif(not (runs_root() / "synthetic").exists(), reason="no committed run store")
def test_committed_store_still_reports():
    runs = load_runs(runs_root() / "synthetic")
    t = ablation_table(runs)
    assert len(t) and t["vs baseline"].iloc[0] == "–" and set(t.protocol) <= {"joint", "joint+unimodal", "own"}
    assert sensitivity_table(runs)["val acc (%)"].ne("–").all()
    plt.close(plot_paired_differences(split_grid(runs)[0]))

def test_controls_table_reads_each_control_against_what_it_controls(tmp_path):
    from asgml.report import contrast_table
    runs = store(tmp_path, ("baseline", {0: 0.80, 1: 0.82}), ("baseline", {0: 0.90, 1: 0.93}, UNI),
                 ("asgml_adaptive", {0: 0.83, 1: 0.84}), ("asgml_adaptive", {0: 0.81, 1: 0.81}, {"point": "asgml.probe_signal=random"}))
    t = contrast_table(runs)
    assert list(t.protocol) == ["joint", "joint+unimodal − joint"]
    assert (t.arm[0], t.against[0]) == ("ASGML adaptive [probe_signal = random] · joint", "ASGML adaptive · joint")
    assert (t.arm[1], t.against[1]) == ("Baseline · joint+unimodal", "Baseline · joint")
    assert t.difference[0].startswith("-2.50 ") and t.difference[1].startswith("+10.50 ")

def table_blocks(text: str) -> list[str]:
    "The Markdown tables of `text`, each as its lines joined."
    out, cur = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"): cur.append(line)
        elif cur: out.append("\n".join(cur)); cur = []
    return out

ROOT = Path(__file__).resolve().parents[1]

def test_readme_result_tables_are_the_committed_report_tables():
    "A README table with results (a ± or an interval such as [+1.2, +3.4] in it) is one that `asgml report` wrote to paper/tables, verbatim."
    written = {b for f in (ROOT / "paper" / "tables").glob("*.md") for b in table_blocks(f.read_text())}
    results = [b for b in table_blocks((ROOT / "README.md").read_text()) if "±" in b or re.search(r"\[[+-]\d", b)]
    assert len(results) >= 5, "the README shows no results table"
    stale = [b.splitlines()[2][:100] for b in results if b not in written]
    assert not stale, f"README tables that `asgml report` did not write (copy them from paper/tables/): first rows {stale}"
