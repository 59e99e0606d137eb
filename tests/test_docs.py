"""The docs site: it builds offline from a clean checkout (docs/build.py), and every page works in headless Chromium.

The site is built once per session, from a copy of the checkout's committed and new files (no `_proc/`, `_docs/`,
caches), in a network namespace with only the loopback interface when the machine allows one (root). Executing the
notebooks is most of the build's time (6 min on 2 quiet cores, 16 min beside two sweep workers), so the executed copies
in this checkout's `_build/docs/executed/` are reused where the notebook, its parameters and the package sources are
unchanged (docs/build.py checks that). `make test` makes them just before pytest (`make notebooks`, the notebooks'
test), so the notebooks run once; a bare `pytest` on a fresh clone finds none and executes them all here.
Screenshots of the home page and the ASGML page land in `test-output/docs/`.
"""
import json, os, shutil, subprocess, sys, time
from pathlib import Path
import pytest
from site_check import Chromium, check_site, chromium_path, load_page, serve

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = Path("_build") / "docs" / "executed"  # docs/build.py's executed notebooks
SHOTS = ROOT / "test-output" / "docs"
# Inside `unshare -n` the loopback interface starts down: bring it up (SIOCSIFFLAGS, IFF_UP) and run the build.
OFFLINE_BUILD = ("import fcntl, runpy, socket, struct, sys; "
                 "fcntl.ioctl(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), 0x8914, struct.pack('16sH', b'lo', 1)); "
                 "sys.argv = ['docs/build.py']; runpy.run_path('docs/build.py', run_name='__main__')")

def checkout_files() -> list[str]:
    "The files of a clean checkout: tracked, plus new files git does not ignore."
    r = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                       capture_output=True, text=True, check=True)
    return [f for f in r.stdout.split("\0") if f and (ROOT / f).is_file()]

def clean_copy(dst: Path) -> Path:
    "A copy of the checkout as a fresh clone would have it, with the executed notebooks of a previous build if any."
    for f in checkout_files():
        (dst / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dst / f)
    if (ROOT / EXECUTED).is_dir(): shutil.copytree(ROOT / EXECUTED, dst / EXECUTED)
    return dst

def can_isolate_network() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0

def build_site(repo: Path) -> subprocess.CompletedProcess:
    "Run docs/build.py in `repo`, without network when possible; its asgml is the one imported."
    env = {**os.environ, "PYTHONPATH": str(repo), "OMP_NUM_THREADS": "1",
           "ASGML_DATA_ROOT": os.environ.get("ASGML_DATA_ROOT", str(ROOT.parent / "shared" / "data"))}
    cmd = ["unshare", "-n", sys.executable, "-c", OFFLINE_BUILD] if can_isolate_network() else [sys.executable, "docs/build.py"]
    return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=900)

@pytest.fixture(scope="session")
def built(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess, float]:
    "The site built from a clean copy of the checkout: (site folder, the build's process, seconds)."
    repo = clean_copy(tmp_path_factory.mktemp("clean-checkout"))
    t = time.time()
    r = build_site(repo)
    return repo / "_docs", r, time.time() - t

@pytest.fixture(scope="session")
def site(built) -> Path:
    folder, r, _ = built
    if r.returncode: pytest.fail(f"docs/build.py failed:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}")
    return folder

def need_chromium() -> None:
    if chromium_path(): return
    msg = "chromium is not installed (`make test` installs Debian's chromium: apt-get install chromium)"
    pytest.fail(msg) if os.environ.get("CI") else pytest.skip(msg)

@pytest.fixture(scope="module")   # closed after this module: an idle Chromium kept open burns CPU through the remaining tests
def browser():
    need_chromium()
    with Chromium() as b: yield b

@pytest.fixture(scope="module")
def report(site, browser):
    with serve(site) as base: yield base, check_site(browser, base)

def title(nb: dict) -> str:
    "A notebook's title as the page shows it: its first markdown cell's `# heading`, without Markdown code marks."
    return next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown").splitlines()[0].lstrip("# ").strip().replace("`", "")

def notebook_titles() -> dict[str, str]:
    "Each notebook's title, by path under nbs/."
    from nbdev.doclinks import nbglob
    return {p.relative_to(ROOT / "nbs").as_posix(): title(json.loads(p.read_text())) for p in nbglob(ROOT / "nbs", func=Path)}

def image_outputs(folder: Path) -> dict[str, int]:
    "The number of image outputs (plots) of each notebook under `folder`, by title."
    nbs = [json.loads(p.read_text()) for p in folder.rglob("*.ipynb")]
    return {title(nb): sum(k.startswith("image/") for c in nb["cells"] for o in c.get("outputs", []) for k in o.get("data", {}))
            for nb in nbs}

def test_site_builds_offline_from_a_clean_checkout(built):
    folder, r, secs = built
    assert r.returncode == 0, f"docs/build.py failed:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    assert (folder / "index.html").exists() and (folder / "search" / "search_index.json").exists()
    print(f"clean docs build: {secs:.0f} s{' (no network)' if can_isolate_network() else ''}; {r.stdout.strip().splitlines()[-1]}")

def test_every_notebook_has_a_page(report):
    _, rep = report
    h1s = {p.h1 for p in rep.pages.values()}
    missing = {nb: t for nb, t in notebook_titles().items() if t not in h1s}
    assert not missing, f"no page titled after these notebooks: {missing}"

def test_pages_load_without_errors(report):
    _, rep = report
    assert len(rep.pages) >= len(notebook_titles())
    assert not rep.problems, "\n".join(rep.problems)

def test_plots_appear(site, report):
    "Every plot of the executed notebooks shows on its page."
    executed = image_outputs(site.parent / EXECUTED)
    assert sum(executed.values()) > 0, "the executed notebooks have no plot at all"
    pages = {p.h1: p.images for p in report[1].pages.values()}
    shown = image_outputs(site.parent / "_build" / "docs" / "site_src")  # after nbdev's processors (hidden cells gone)
    assert {t: n for t, n in shown.items() if pages.get(t, 0) < n} == {}, "pages with fewer images than their notebook's plots"

def test_search_index_has_every_page(site):
    docs = json.loads((site / "search" / "search_index.json").read_text())["docs"]
    assert {d["location"].split("#")[0] for d in docs} >= {p.relative_to(site).as_posix() for p in site.rglob("*.html") if p.name != "404.html"}

def test_search_finds_a_function(report, browser):
    base, _ = report
    browser.open(base + "index.html")
    browser.evaluate("document.querySelector('input[data-md-component=search-query]').focus()")
    browser.send("Input.insertText", text="StalenessBuffer")
    hits = browser.evaluate("""new Promise(r => { let n = 0; const t = setInterval(() => {
        const h = document.querySelectorAll('.md-search-result__item'); if (h.length || ++n > 100) { clearInterval(t); r(h.length); } }, 100); })""")
    assert hits > 0, "searching for StalenessBuffer found nothing"

def test_home_and_asgml_pages_render(report, browser):
    base, rep = report
    home = load_page(browser, base + "index.html", base)
    browser.screenshot(SHOTS / "home.png")
    asgml = next(p for p in rep.pages.values() if p.h1.startswith("ASGML: staleness"))
    page = load_page(browser, asgml.url, base)
    browser.screenshot(SHOTS / "asgml.png")
    assert not home.problems and not page.problems, home.problems + page.problems
    assert "StalenessBuffer" in page.ids or "stalenessbuffer" in page.ids, "show_doc's entry for StalenessBuffer is missing"
    assert "def StalenessBuffer" in page.text and page.math > 10, "the signature or the math did not render"
    for raw in ("{target=", "#| ", "$$", "\\tau"): assert raw not in page.text, f"raw source {raw!r} shows on the page"

# The checks can fail: a tiny site with each kind of fault.
BROKEN = """<!doctype html><html><head><title>t</title></head><body><h1>Broken</h1>
<a href="missing.html">a missing page</a> <a href="other.html#nowhere">a missing anchor</a>
<img src="missing.png" alt="x"><script>undefined_function()</script></body></html>"""

def test_checks_catch_broken_pages(tmp_path, browser):
    (tmp_path / "index.html").write_text(BROKEN)
    (tmp_path / "other.html").write_text("<!doctype html><h1 id='here'>Other</h1><a href='index.html#here'>back</a>")
    with serve(tmp_path) as base: rep = check_site(browser, base)
    text = "\n".join(rep.problems)
    for fault in ("broken link to " + base + "missing.html (HTTP 404)", "missing anchor " + base + "other.html#nowhere",
                  "image did not load", "JavaScript error: ReferenceError: undefined_function is not defined",
                  "missing anchor " + base + "index.html#here"):
        assert fault in text, f"{fault!r} not reported in:\n{text}"

def test_checks_pass_a_good_page(tmp_path, browser):
    (tmp_path / "index.html").write_text("<!doctype html><link rel='icon' href='data:,'><h1 id='a'>Good</h1><a href='#a'>top</a><a href='https://example.org/'>out</a>")
    with serve(tmp_path) as base: assert check_site(browser, base).problems == []
