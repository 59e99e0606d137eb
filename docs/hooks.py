"""mkdocs hooks for the notebook pages.

- MathJax comes from the site itself (the copy `jupyter-server-mathjax` installs), never from a CDN.
- The table of contents is made from the rendered page: the headings of its markdown cells and each API entry's
  name (show_doc's heading), with the ids they really have (mkdocs-jupyter derives its TOC from a separate markdown
  conversion, which drops code from headings' names and ids, so its links missed the headings with code in them).
"""
import html, re, shutil
from pathlib import Path
from mkdocs.structure.toc import get_toc
from mkdocs.utils import get_relative_url

PLACEHOLDER = "@MATHJAX@"  # mkdocs-jupyter's custom_mathjax_url in docs/mkdocs.yml
MATHJAX = "assets/mathjax"
# That MathJax 2.7 ships the STIX-Web fonts only, so: STIX-Web; no hidden MathML copy (its styles ask for the TeX
# fonts, which are not there); and no `url('about:blank')` font-detection font, which Chromium refuses with an error.
CONFIG = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null, linebreaks: {automatic: true},
               styles: {"@font-face": {"font-family": "MathJax_Blank", src: "local('MathJax_Blank')"}}},
  menuSettings: {assistiveMML: false}
});
</script>"""
HEADING = re.compile(r'<h([1-6]) id="([^"]+)"[^>]*>(.*?)</h[1-6]>', re.S)
CELL = re.compile(r'(?=<div class="jp-Cell )')

def _text(fragment: str) -> str:
    "A heading's visible text."
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).replace("¶", "").split())

def toc_headings(content: str) -> list[tuple[int, str, str]]:
    "(level, id, text) of every markdown cell's headings and of the first heading of each code cell's output."
    out = []
    for cell in CELL.split(content):
        hs = [(int(m[1]), m[2], _text(m[3])) for m in HEADING.finditer(cell)]
        out += hs if cell.startswith('<div class="jp-Cell jp-MarkdownCell') else hs[:1]
    return out

def nest(headings: list[tuple[int, str, str]]) -> list[dict]:
    "mkdocs TOC tokens, each heading under the closest heading above it with a smaller level."
    root, stack = [], [(0, {"children": []})]
    for level, id_, text in headings:
        tok = {"level": level, "id": id_, "name": html.escape(text), "children": []}
        while stack[-1][0] >= level: stack.pop()
        (stack[-1][1]["children"] if len(stack) > 1 else root).append(tok)
        stack.append((level, tok))
    return root

def on_page_content(content: str, page, config, files) -> str:
    "The page's TOC from its rendered headings."
    if page.file.src_uri.endswith(".ipynb"): page.toc = get_toc(nest(toc_headings(content)))
    return content

def on_post_page(output: str, page, config) -> str:
    "Point the notebook's MathJax script at the site's copy, relative to the page."
    url = get_relative_url(f"{MATHJAX}/MathJax.js", page.url) + "?config=TeX-AMS-MML_HTMLorMML-full,Safe"
    return output.replace(f'<script src="{PLACEHOLDER}">', f'{CONFIG}\n<script src="{url}">')

def on_post_build(config) -> None:
    "Copy MathJax into the site."
    import jupyter_server_mathjax
    src = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(src, Path(config.site_dir) / MATHJAX, dirs_exist_ok=True)
