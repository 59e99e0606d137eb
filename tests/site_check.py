"""Check a static site in headless Chromium over the DevTools protocol: every page reachable from the start page loads,
with no JavaScript error, no failed request, no image that did not load and no broken internal link or anchor.

`serve(folder)` serves a folder on 127.0.0.1 on a free port; `Chromium` drives one headless browser; `check_site`
crawls the site from its start page and returns a `SiteReport` whose `problems` are one line each.
"""
from __future__ import annotations
import base64, functools, http.server, json, os, shutil, signal, socket, subprocess, tempfile, threading, time, urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import websocket

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--mute-audio"]

def chromium_path() -> str | None:
    "The Debian `chromium` executable, if installed."
    return shutil.which("chromium") or shutil.which("chromium-browser")

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None: pass

@contextmanager
def serve(folder: Path):
    "Serve `folder` over HTTP on 127.0.0.1 on a free port; yields the base URL (ending in /)."
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try: yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally: httpd.shutdown(); httpd.server_close()

def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    "Send `sig` to the process group `proc` leads (started with `start_new_session`), if any of it is left."
    try: os.killpg(proc.pid, sig)
    except ProcessLookupError: pass

def _wait_for(path: Path, proc: subprocess.Popen, timeout: float) -> str:
    end = time.time() + timeout
    while time.time() < end:
        if path.exists() and len(path.read_text().splitlines()) >= 2: return path.read_text()
        if proc.poll() is not None: raise RuntimeError(f"chromium exited with code {proc.returncode} before opening DevTools")
        time.sleep(0.05)
    raise TimeoutError(f"chromium did not write {path} within {timeout:.0f} s")

class Chromium:
    "One headless Chromium (fresh profile) with one tab, driven over the DevTools protocol."
    def __init__(self, width: int = 1280, height: int = 900, timeout: float = 30):
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self.proc = subprocess.Popen([chromium_path() or "chromium", *FLAGS, f"--user-data-dir={self.profile}",
                                      "--remote-debugging-port=0", f"--window-size={width},{height}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port = _wait_for(Path(self.profile) / "DevToolsActivePort", self.proc, timeout).splitlines()[0]
        tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout))
        tab = next(t for t in tabs if t["type"] == "page")
        self.ws = websocket.create_connection(tab["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True)
        self.timeout, self._id, self.events = timeout, 0, []
        for domain in ("Page", "Runtime", "Network", "Log"): self.send(f"{domain}.enable")

    def _recv(self) -> dict:
        msg = json.loads(self.ws.recv())
        if "method" in msg: self.events.append(msg)
        return msg

    def send(self, method: str, **params) -> dict:
        "Call a DevTools method and return its result (events arriving meanwhile are kept in `events`)."
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = self._recv()
            if msg.get("id") == self._id:
                if "error" in msg: raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def wait_event(self, method: str, timeout: float | None = None) -> dict:
        "Wait for the next event `method` (one already received since the last `clear` counts)."
        end = time.time() + (timeout or self.timeout)
        while time.time() < end:
            if (hit := next((e for e in self.events if e["method"] == method), None)): return hit
            self.ws.settimeout(max(0.01, end - time.time()))
            try: self._recv()
            except websocket.WebSocketTimeoutException: break
        raise TimeoutError(f"no {method} within {timeout or self.timeout:.0f} s")

    def drain(self, quiet: float = 0.3) -> None:
        "Keep receiving events until none arrives for `quiet` seconds."
        self.ws.settimeout(quiet)
        try:
            while True: self._recv()
        except websocket.WebSocketTimeoutException: pass
        finally: self.ws.settimeout(self.timeout)

    def evaluate(self, expr: str):
        "The value of a JavaScript expression in the page (promises are awaited)."
        r = self.send("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r: raise RuntimeError(f"evaluating {expr[:60]!r}: {r['exceptionDetails'].get('text')}")
        return r["result"].get("value")

    def open(self, url: str) -> None:
        "Load `url`, wait for its load event and for its scripts to settle (MathJax typesetting included)."
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")
        self.evaluate("window.MathJax && MathJax.Hub ? new Promise(r => MathJax.Hub.Queue(() => r(1))) : 0")
        self.drain()

    def screenshot(self, path: Path) -> None:
        "A PNG of the whole page."
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        png = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                        clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(png["data"]))

    def close(self) -> None:
        "Stop the browser and every helper process it started (they write into the profile), then delete the profile."
        try: self.ws.close()
        finally:
            _signal_group(self.proc, signal.SIGTERM)
            try: self.proc.wait(10)
            except subprocess.TimeoutExpired: _signal_group(self.proc, signal.SIGKILL); self.proc.wait()
            _signal_group(self.proc, signal.SIGKILL)   # helpers that outlived the browser process
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self): return self
    def __exit__(self, *exc) -> None: self.close()

# What the page itself reports after loading: its heading, links, ids, images that did not load, MathJax errors.
PAGE_STATE = """(() => ({
  h1: (document.querySelector('article h1, h1') || {}).textContent || '',
  text: document.body.innerText,
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id).concat([...document.querySelectorAll('a[name]')].map(a => a.name)),
  images: [...document.querySelectorAll('img')].filter(i => i.complete && i.naturalWidth > 0).length,
  broken_images: [...document.querySelectorAll('img')].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.currentSrc || i.src),
  math_errors: [...document.querySelectorAll('.MathJax_Error, .merror, [data-mjx-error]')].map(e => e.textContent),
  math: document.querySelectorAll('.MathJax, .MathJax_Display, mjx-container').length,
}))()"""

@dataclass
class PageReport:
    url: str
    status: int = 0
    h1: str = ""
    text: str = ""
    ids: set = field(default_factory=set)
    links: list = field(default_factory=list)
    math: int = 0
    images: int = 0
    problems: list = field(default_factory=list)

def _event_problems(events: list[dict], base: str) -> list[str]:
    "JavaScript exceptions, console errors, failed or off-site requests among DevTools events."
    out, urls = [], {}
    for e in events:
        m, p = e["method"], e["params"]
        if m == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            out.append(f"JavaScript error: {(d.get('exception') or {}).get('description') or d.get('text')} ({d.get('url', '')}:{d.get('lineNumber')})")
        elif m == "Runtime.consoleAPICalled" and p["type"] == "error":
            out.append("console.error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
        elif m == "Log.entryAdded" and p["entry"]["level"] == "error" and p["entry"].get("source") != "network":
            out.append(f"browser error ({p['entry']['source']}): {p['entry']['text']}")
        elif m == "Network.requestWillBeSent":
            url = urls[p["requestId"]] = p["request"]["url"]
            if not url.startswith((base, "data:", "blob:", "about:")): out.append(f"request leaves the site: {url}")
        elif m == "Network.responseReceived" and p["response"]["status"] >= 400:
            out.append(f"HTTP {p['response']['status']}: {p['response']['url']}")
        elif m == "Network.loadingFailed" and not p.get("canceled"):
            out.append(f"request failed ({p['errorText']}): {urls.get(p['requestId'], p['requestId'])}")
    return out

def _document_status(events: list[dict], url: str) -> int:
    "The HTTP status of the page's own document (0 if none was received)."
    return next((e["params"]["response"]["status"] for e in events if e["method"] == "Network.responseReceived"
                 and e["params"].get("type") == "Document" and e["params"]["response"]["url"] == url), 0)

def load_page(browser: Chromium, url: str, base: str) -> PageReport:
    "Open `url` and report what went wrong on it."
    browser.open(url)
    s = browser.evaluate(PAGE_STATE)
    r = PageReport(url, _document_status(browser.events, url), s["h1"].replace("¶", "").strip(), s["text"], set(s["ids"]),
                   s["links"], s["math"], s["images"])
    r.problems = _event_problems(browser.events, base)
    r.problems += [f"image did not load: {src[:120]}" for src in s["broken_images"]]
    r.problems += [f"MathJax error: {t}" for t in s["math_errors"]]
    return r

@dataclass
class SiteReport:
    pages: dict  # url -> PageReport, for the pages that exist
    problems: list

def _is_page(url: str) -> bool:
    path = urlparse(url).path
    return path.endswith("/") or path.endswith(".html")

def _exists(url: str) -> bool:
    "Whether a non-page resource answers without an error."
    try: return urllib.request.urlopen(url, timeout=10).status < 400
    except Exception: return False

def _link_problem(target: str, frag: str, pages: dict) -> str | None:
    if not _is_page(target): return None if _exists(target) else f"broken link to {target}"
    if pages[target].status >= 400: return f"broken link to {target} (HTTP {pages[target].status})"
    if frag and frag not in pages[target].ids: return f"link to a missing anchor {target}#{frag}"

def check_site(browser: Chromium, base: str, start: str = "index.html", max_pages: int = 500) -> SiteReport:
    "Crawl from `start`: load every internal page, check every internal link's target (and its #anchor)."
    first = urljoin(base, start)
    pages, todo, linked = {}, [first], {(first, ""): "the start page"}
    while todo and len(pages) < max_pages:
        url = todo.pop(0)
        pages[url] = page = load_page(browser, url, base)
        if page.status >= 400: continue
        for href in page.links:
            target, frag = urldefrag(href)
            if not target.startswith(base): continue
            linked.setdefault((target, frag), url)
            if _is_page(target) and target not in pages and target not in todo: todo.append(target)
    problems = [f"{u}: {p}" for u, r in pages.items() if r.status < 400 for p in r.problems]
    problems += [f"{src}: {msg}" for (target, frag), src in linked.items() if (msg := _link_problem(target, frag, pages))]
    return SiteReport({u: r for u, r in pages.items() if r.status < 400}, problems)
