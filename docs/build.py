"""Build the docs site from `nbs/` without Quarto: execute, nbdev-process, stage for mkdocs, `mkdocs build` into `_docs/`.

1. execute every notebook of `nbs/` with papermill (the repository's notebooks are committed without outputs) into
   `_build/docs/executed/`, one kernel per notebook, offline, `OMP_NUM_THREADS=1`; a notebook whose source, papermill
   parameters and package sources are unchanged since its last execution is not executed again;
2. run nbdev's own docs processors on the executed copies (`nbdev.serve.proc_nbs`: show_doc, doc links, hidden
   cells, frontmatter), which writes `_proc/` as `nbdev-docs` does before handing it to Quarto;
3. stage what Quarto would have read from the processed notebooks for mkdocs-jupyter (frontmatter -> title, Quarto
   cell options -> cell tags, links to the nbdev site -> relative links) in `_build/docs/site_src/`, each page named
   like nbdev's Quarto page, and generate the navigation from the folder;
4. `mkdocs build` with `docs/mkdocs.yml` (MkDocs Material + mkdocs-jupyter) into `_docs/`.

Usage: `python docs/build.py [--workers N] [--force] [--execute-only]`. `make test` runs step 1 alone as the notebooks'
test (every cell, `eval: false` ones included, with `docs/parameters.yaml`: a superset of `nbdev-test`); its docs
test then builds the site from these executed copies instead of executing every notebook a second time.
"""
from __future__ import annotations
import argparse, hashlib, json, os, posixpath, re, shutil, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat, yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BUILD = ROOT / "_build" / "docs"
EXECUTED, STAGE = BUILD / "executed", BUILD / "site_src"
KEY = "asgml_docs"  # notebook metadata key holding the execution key
QUARTO_FILES = {"_quarto.yml", "nbdev.yml", "sidebar.yml", "styles.css"}  # nbs/ files only `nbdev-docs` reads

def skipped(rel: Path) -> bool:
    "Files nbdev does not document: hidden or `_`-prefixed parts, and Quarto's own settings."
    return any(part.startswith((".", "_")) for part in rel.parts) or rel.name in QUARTO_FILES

# -- 1. execute --

def notebooks(nbs: Path) -> list[Path]:
    "The notebooks nbdev documents, in order (nbdev's own glob: skips `_`/`.` files and folders)."
    from nbdev.doclinks import nbglob
    return sorted(nbglob(nbs, func=Path), key=lambda p: p.relative_to(nbs).parts)

def notebook_parameters(rel: str) -> dict:
    "Papermill parameters for notebook `rel` (path under `nbs/`) from `docs/parameters.yaml`, `{build}` left as is."
    return (yaml.safe_load((DOCS / "parameters.yaml").read_text()) or {}).get(rel, {})

def fill_build(params: dict, cwd: Path) -> dict:
    "`params` with `{build}` replaced by the build folder, relative to the notebook's folder `cwd`."
    build = os.path.relpath(BUILD, cwd)
    return {k: v.format(build=build) if isinstance(v, str) else v for k, v in params.items()}

def package_digest() -> str:
    "A hash of the package sources and configs the notebooks import."
    h = hashlib.sha256()
    for p in sorted((ROOT / "asgml").rglob("*")):
        if p.suffix in (".py", ".yaml"): h.update(str(p.relative_to(ROOT)).encode() + p.read_bytes())
    return h.hexdigest()

def execution_key(nb: Path, params: dict, pkg: str) -> str:
    "What an executed copy was made from: the notebook, its parameters, the package."
    return hashlib.sha256(nb.read_bytes() + json.dumps(params, sort_keys=True).encode() + pkg.encode()).hexdigest()

def key_of(nb: Path) -> str | None:
    "The execution key an executed (or processed) copy carries."
    return json.loads(nb.read_text()).get("metadata", {}).get(KEY, {}).get("key") if nb.exists() else None

def execute(src: Path, dst: Path, params: dict, key: str) -> float:
    "Execute `src` with papermill into `dst` (in its own folder, as `nbdev-test` does); returns the seconds taken."
    import papermill as pm
    from asgml.experiments import QUIET_KERNEL
    t0 = time.time()
    dst.parent.mkdir(parents=True, exist_ok=True)
    nb = pm.execute_notebook(str(src), str(dst), parameters=fill_build(params, src.parent), cwd=str(src.parent), kernel_name="python3",
                             progress_bar=False, log_output=False, extra_arguments=QUIET_KERNEL)
    nb.metadata[KEY] = {"key": key}
    dst.write_text(json.dumps(nb, indent=1, ensure_ascii=False))
    return time.time() - t0

def execution_env() -> None:
    "The environment the kernels inherit: one thread, no network for W&B."
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", WANDB_MODE="offline", WANDB_SILENT="true",
                      PYDEVD_DISABLE_FILE_VALIDATION="1")

def execute_all(nbs: Path, workers: int, force: bool = False) -> dict[str, float]:
    "Execute the notebooks of `nbs` whose executed copy is missing or stale; returns seconds per executed notebook."
    execution_env()
    pkg, jobs = package_digest(), {}
    for src in notebooks(nbs):
        rel = src.relative_to(nbs).as_posix()
        params = notebook_parameters(rel)
        key, dst = execution_key(src, params, pkg), EXECUTED / rel
        if force or key_of(dst) != key: jobs[rel] = (src, dst, params, key)
    for p in EXECUTED.rglob("*"):  # a file removed from nbs/ leaves no page behind
        if p.is_file() and not (nbs / p.relative_to(EXECUTED)).exists(): p.unlink()
    copy_other_files(nbs, EXECUTED)
    if jobs: shutil.rmtree(BUILD / "runs", ignore_errors=True)  # runs a notebook makes for the docs start afresh
    with ProcessPoolExecutor(max(1, min(workers, len(jobs) or 1))) as ex:
        futs = {rel: ex.submit(execute, *job) for rel, job in jobs.items()}
    if failed := {rel: f.exception() for rel, f in futs.items() if f.exception()}:
        raise SystemExit("\n\n".join(f"nbs/{rel} failed (executed copy: {EXECUTED / rel}):\n{e}" for rel, e in failed.items()))
    return {rel: f.result() for rel, f in futs.items()}

def copy_other_files(src: Path, dst: Path) -> None:
    "Copy the files of `src` that are not notebooks (images the notebooks show, ...) to the same place under `dst`."
    for p in src.rglob("*"):
        rel = p.relative_to(src)
        if p.is_file() and p.suffix != ".ipynb" and not skipped(rel):
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, dst / rel)

# -- 2. nbdev's processors --

def process(workers: int) -> Path:
    """Run nbdev's docs processors on the executed copies into `_proc/`, as `nbdev-docs` does for Quarto. It only
    processes what changed; a processed copy not made from the current executed one (e.g. `nbdev-docs` left it there,
    processed from the clean notebook) is made again."""
    from nbdev.config import get_config
    from nbdev.serve import proc_nbs
    proc = get_config().config_path / "_proc"
    for p in EXECUTED.rglob("*.ipynb"):
        if key_of(proc / p.relative_to(EXECUTED)) != key_of(p): (proc / p.relative_to(EXECUTED)).unlink(missing_ok=True)
    return Path(proc_nbs(str(EXECUTED), n_workers=workers))

# -- 3. stage for mkdocs-jupyter --

FRONTMATTER = re.compile(r"^---\n(.*?)\n---", re.S)
DIRECTIVE = re.compile(r"^#\|\s*([\w-]+)\s*:\s*(.*?)\s*$")
ATTR_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)\{([^}]*)\}")  # Pandoc's [text](url){attrs}
TAGS = {("echo", "false"): "remove_input", ("output", "false"): "remove_output", ("include", "false"): "remove_cell"}
API_HEADING = re.compile(r"^#{2,4} (\S+)\s*$", re.M)  # show_doc's heading: the name it documents
NUMPY_SECTION = re.compile(r"^([A-Z][A-Za-z ]+)\n-{3,}\n(.*?)(?=^[A-Z][A-Za-z ]+\n-{3,}\n|\Z)", re.M | re.S)
NUMPY_ITEM = re.compile(r"^(\S.*?) : (.*)$")
WIDGETS = "application/vnd.jupyter.widget-state+json"  # the widget state nbdev's exec_show_docs records

def frontmatter(nb: dict) -> dict:
    "The YAML frontmatter nbdev's FrontmatterProc put in the first raw cell (empty if none)."
    c = nb["cells"][0] if nb["cells"] else {}
    m = FRONTMATTER.match(c.get("source", "")) if c.get("cell_type") == "raw" else None
    return (yaml.safe_load(m.group(1)) or {}) if m else {}

def page_path(rel: Path, fm: dict) -> Path:
    "Where Quarto puts the page of notebook `rel`: its `output-file`, or its own name, as .html."
    return rel.parent / (fm.get("output-file") or rel.with_suffix(".html").name)

def markdown_outputs(nb: dict):
    "The `text/markdown` data of every output (show_doc's among them), as (output data dict, text)."
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            if "text/markdown" in o.get("data", {}): yield o["data"], o["data"]["text/markdown"]

def api_anchors(nb: dict) -> set[str]:
    "The anchors of the API entries show_doc rendered in `nb` (nbdev links to `page.html#name`, lower-cased)."
    return {n.lower() for _, md in markdown_outputs(nb) for n in API_HEADING.findall(md)}

def title_cell(title: str, description: str | None) -> dict:
    "The title and description Quarto renders from the frontmatter, as a markdown cell."
    desc = f'\n\n<div class="nb-description">\n\n{description}\n\n</div>' if description else ""
    return nbformat.v4.new_markdown_cell(f"# {title}{desc}", id="docs-title")

def cell_options(cell: dict) -> dict:
    "Turn a code cell's Quarto options (`#| echo: false`, ...) into nbconvert tags, dropping the option lines."
    lines = cell["source"].splitlines()
    opts = [m.groups() for l in lines if (m := DIRECTIVE.match(l))]
    cell["metadata"]["tags"] += [TAGS[(k, v.lower())] for k, v in opts if (k, v.lower()) in TAGS]
    cell["source"] = "\n".join(l for l in lines if not DIRECTIVE.match(l))
    return cell

def numpy_sections(md: str) -> str:
    "NumPy docstring sections (`Parameters` over dashes, `name : what` lines) as a bold label and a list."
    def section(m: re.Match) -> str:
        blocks = []
        for line in m.group(2).strip("\n").splitlines():
            if (item := NUMPY_ITEM.match(line)): blocks.append(f"- `{item[1]}`: {item[2]}")
            elif line.strip() and blocks and (line[0].isspace() or not blocks[-1].startswith("- ")): blocks[-1] += " " + line.strip()
            elif line.strip(): blocks.append(line.strip())
        return f"**{m.group(1)}**\n\n" + "\n".join(b if b.startswith("- ") else f"\n{b}\n" for b in blocks) + "\n\n"
    return NUMPY_SECTION.sub(section, md)

def relink(text: str, site: str, page: Path, anchors: dict[str, set]) -> str:
    """Links to the nbdev site become relative to `page` (a member without its own entry links to its class's);
    Pandoc link attributes become HTML."""
    def rel(m: re.Match) -> str:
        target, frag = m.group(1), (m.group(2) or "")[1:]
        if frag and frag not in anchors.get(target, ()) and frag.split(".")[0] in anchors.get(target, ()): frag = frag.split(".")[0]
        return posixpath.relpath(target, page.parent.as_posix() or ".") + (f"#{frag}" if frag else "")
    text = re.sub(re.escape(site) + r"([^\s)#\"']*\.html)(#[^\s)\"']*)?", rel, text)
    return ATTR_LINK.sub(lambda m: f'<a href="{m.group(2)}" class="nb-source-link">{m.group(1)}</a>'
                         if "float:right" in m.group(3) else f'<a href="{m.group(2)}">{m.group(1)}</a>', text)

def stage_notebook(nb: dict, page: Path, title: str, description: str | None, site: str, anchors: dict) -> dict:
    "A processed notebook as mkdocs-jupyter should render it (a progress bar's stream shows its last state, as in Jupyter)."
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor
    cells = nb["cells"][1:] if nb["cells"] and nb["cells"][0]["cell_type"] == "raw" else nb["cells"]
    for i, c in enumerate(cells):  # nbdev's timings break nbformat's schema, and its inserted cells have no id
        c["metadata"], c["id"] = {"tags": list(c["metadata"].get("tags", []))}, c.get("id") or f"docs-{i}"
        if c["cell_type"] == "code": cell_options(c)
        if c["cell_type"] == "markdown": c["source"] = relink(c["source"], site, page, anchors)
    nb["cells"] = [title_cell(title, description)] + cells
    if not (nb["metadata"].get("widgets") or {}).get(WIDGETS, {}).get("state"):  # else mkdocs-jupyter loads widget JS from a CDN
        nb["metadata"].pop("widgets", None)
    for data, md in markdown_outputs(nb): data["text/markdown"] = relink(numpy_sections(md), site, page, anchors)
    return CoalesceStreamsPreprocessor().preprocess(nb, {})[0]

def site_url() -> str:
    "The nbdev site's address (`doc_host` + `doc_baseurl`), with a trailing slash."
    from nbdev.config import get_config
    cfg = get_config()
    return f"{cfg.doc_host}{cfg.doc_baseurl}".rstrip("/") + "/"

def write_nb(path: Path, nb: nbformat.NotebookNode) -> None:
    "Write notebook `nb` to `path`."
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)

def stage(proc: Path, site: str) -> list[tuple[Path, Path, str]]:
    """Stage the processed notebooks of `proc` (and any other files there) into `STAGE` with `docs/assets`, each page
    named as Quarto names it; returns (notebook under nbs/, staged page, title) per notebook."""
    shutil.rmtree(STAGE, ignore_errors=True)
    nbs = {p.relative_to(proc): nbformat.read(p, as_version=4) for p in proc.rglob("*.ipynb") if not skipped(p.relative_to(proc))}
    fms = {rel: frontmatter(nb) for rel, nb in nbs.items()}
    html = {rel: page_path(rel, fm) for rel, fm in fms.items()}
    anchors = {html[rel].as_posix(): api_anchors(nb) for rel, nb in nbs.items()}
    pages = [(rel, html[rel].with_suffix(".ipynb"), fms[rel].get("title", rel.stem)) for rel in nbs]
    for rel, page, title in pages:
        write_nb(STAGE / page, stage_notebook(nbs[rel], html[rel], title, fms[rel].get("description"), site, anchors))
    copy_other_files(proc, STAGE)
    shutil.copytree(DOCS / "assets", STAGE / "assets")
    return pages

def nav(pages: list[tuple[Path, Path, str]]) -> list:
    "mkdocs navigation mirroring `nbs/`: `index` first, then notebooks by name, then each sub-folder as a section."
    top, sections = [], {}
    for rel, page, title in sorted(pages, key=lambda x: (len(x[0].parts) > 1, x[0].stem != "index", x[0].parts)):
        if len(rel.parts) == 1: top.append({title: page.as_posix()})
        else: sections.setdefault(rel.parts[0].replace("_", " ").capitalize(), []).append({title: page.as_posix()})
    return top + [{k: v} for k, v in sections.items()]

# -- 4. mkdocs --

def mkdocs_build(nav_: list, strict: bool = True) -> None:
    "`mkdocs build` of the staged folder into `_docs/`, with the site's name and address from nbdev's settings."
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from nbdev.config import get_config
    c = get_config()
    cfg = load_config(str(DOCS / "mkdocs.yml"), nav=nav_, site_name=c.title, site_description=c.description,
                      site_url=site_url(), docs_dir=str(STAGE), site_dir=str(c.doc_path), strict=strict)
    cfg.extra["social"] = [{"icon": "fontawesome/brands/github", "link": c.git_url}]
    build(cfg)

def main(workers: int = 2, force: bool = False, execute_only: bool = False) -> dict:
    "Build the site (or only execute the notebooks); returns the seconds each stage took."
    t, times = time.time(), {}
    os.chdir(ROOT)
    ran = execute_all(ROOT / "nbs", workers, force)
    times["execute"], t = time.time() - t, time.time()
    if execute_only:
        print(f"executed {len(ran)} notebook(s) into {EXECUTED} in {times['execute']:.0f} s; the others were unchanged")
        return times
    proc = process(workers)
    times["process"], t = time.time() - t, time.time()
    pages = stage(proc, site_url())
    mkdocs_build(nav(pages))
    times["mkdocs"] = time.time() - t
    print(f"docs: {len(pages)} pages in {ROOT / '_docs'}; executed {len(ran)} notebook(s) "
          + ", ".join(f"{k} {v:.0f}s" for k, v in ran.items()) + "; " + ", ".join(f"{k} {v:.1f}s" for k, v in times.items()))
    return times

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="notebooks executed at once")
    ap.add_argument("--force", action="store_true", help="execute every notebook again")
    ap.add_argument("--execute-only", action="store_true", help="stop after step 1 (what `make test` runs as the notebooks' test)")
    a = ap.parse_args()
    main(a.workers, a.force, a.execute_only)
