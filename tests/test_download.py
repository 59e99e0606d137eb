"""AV-digits on a fresh machine: `asgml prepare avdigits` downloads FSDD and MNIST (here from a local server that
serves the real files in their upstream layout), verifies and caches them, and `asgml train` then reads the cache;
without a network, and for a corrupted download or cache, the error is one sentence naming what to fetch or delete."""
import functools, http.server, json, os, shutil, socket, subprocess, sys, tarfile, threading
from pathlib import Path
import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared" / "data"
if not (SHARED / "fsdd" / "recordings").exists() or not (SHARED / "mnist").exists():
    pytest.skip(f"the download tests serve the real FSDD and MNIST files from {SHARED}, which is absent on this machine", allow_module_level=True)

from asgml.data.avdigits import (FSDD_COMMIT, FSDD_DIGEST, MNIST_DIGEST, MNIST_FILES, DownloadError, fetch_avdigits,
                                 mnist_digest, recordings_digest)

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    "Serves a folder, records the paths asked for, logs nothing."
    def log_message(self, *args) -> None: pass
    def do_GET(self) -> None:
        self.server.requested.append(self.path)
        super().do_GET()

class QuietServer(http.server.ThreadingHTTPServer):
    "A client that closes early (torchvision probes redirects with a GET) is not an error here."
    def handle_error(self, request, client_address) -> None: pass

def fsdd_archive(path: Path, wavs: list[Path]) -> Path:
    "A GitHub-style repository archive: `free-spoken-digit-dataset-<commit>/recordings/*.wav` and a README."
    top = f"free-spoken-digit-dataset-{FSDD_COMMIT}"
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        tar.add(SHARED / "fsdd" / "README.md", f"{top}/README.md")
        for w in wavs: tar.add(w, f"{top}/recordings/{w.name}")
    return path

@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    "The base URL of a local server holding fsdd.tar.gz, bad/fsdd.tar.gz (10 recordings) and mnist/<the two files>."
    www = tmp_path_factory.mktemp("www")
    (www / "bad").mkdir()
    wavs = sorted((SHARED / "fsdd" / "recordings").glob("*.wav"))
    fsdd_archive(www / "fsdd.tar.gz", wavs); fsdd_archive(www / "bad" / "fsdd.tar.gz", wavs[:10])
    shutil.copytree(SHARED / "mnist", www / "mnist")
    srv = QuietServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(www)))
    srv.requested = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()

def url(srv: QuietServer, path: str = "") -> str: return f"http://127.0.0.1:{srv.server_address[1]}/{path}"

def refused_url() -> str:
    "A local URL nothing listens on."
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"

@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    "The package as a fresh checkout has it, in a folder with no ../shared beside it."
    root = tmp_path_factory.mktemp("x") / "asgml"
    shutil.copytree(PROJECT / "asgml", root / "asgml", ignore=shutil.ignore_patterns("__pycache__"))
    assert not (root.parent / "shared").exists()
    return root

def asgml(clone: Path, cache: Path, fsdd: str, mnist: str, *args: str) -> subprocess.CompletedProcess:
    "`asgml <args>` run from `clone` with `cache` as the user cache and the two download URLs."
    env = {k: v for k, v in os.environ.items() if k not in ("ASGML_DATA_ROOT", "XDG_CACHE_HOME")}
    env |= {"PYTHONPATH": str(clone), "ASGML_CACHE": str(cache), "ASGML_FSDD_URL": fsdd, "ASGML_MNIST_URL": mnist,
            "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    return subprocess.run([sys.executable, "-c", "from asgml.cli import main; main()", *args], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=300)

@pytest.fixture(scope="module")
def prepared(clone, server, tmp_path_factory) -> Path:
    "The user cache after `asgml prepare avdigits` in the fresh checkout."
    cache = tmp_path_factory.mktemp("cache")
    r = asgml(clone, cache, url(server, "fsdd.tar.gz"), url(server, "mnist"), "prepare", "avdigits")
    assert r.returncode == 0, r.stderr
    assert f"AV-digits data ready in {cache / 'data'}" in r.stdout
    return cache

def test_prepare_downloads_and_verifies(prepared, server):
    data = prepared / "data"
    assert recordings_digest(data / "fsdd" / "recordings") == FSDD_DIGEST
    assert mnist_digest(data / "mnist") == MNIST_DIGEST
    assert {"/fsdd.tar.gz", *(f"/mnist/{f}" for f in MNIST_FILES)} <= set(server.requested)
    assert not (prepared / "downloads").exists()

def test_train_reads_the_downloaded_data(prepared, clone, tmp_path):
    r = asgml(clone, prepared, refused_url(), refused_url(), "train", "--config", "avdigits", "--out", str(tmp_path / "run"),
              "--set", "train.epochs=1", "--set", "data.max_per_split=40", "--set", "log.wandb=false", "--set", "log.progress=false")
    assert r.returncode == 0, r.stderr
    info = json.loads((tmp_path / "run" / "metrics.json").read_text())["data_info"]
    assert info["root"] == str(prepared / "data") and info["cache"].startswith(str(prepared / "avdigits"))

@pytest.fixture
def fresh_machine(tmp_path, monkeypatch) -> Path:
    "This process made to look like a checkout with no ../shared beside it; returns its (empty) user cache."
    import asgml.core
    monkeypatch.setattr(asgml.core, "project_root", lambda: tmp_path / "x" / "asgml")
    for k in ("ASGML_DATA_ROOT", "XDG_CACHE_HOME"): monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("ASGML_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"

def cli(*args: str) -> int | None:
    "The exit status of `asgml <args>` run in this process, None when it returned normally."
    from asgml.cli import main
    try: main(list(args))
    except SystemExit as e: return e.code

def test_prepare_again_only_verifies(prepared, server, fresh_machine, monkeypatch, capsys):
    monkeypatch.setenv("ASGML_CACHE", str(prepared))
    monkeypatch.setenv("ASGML_FSDD_URL", refused_url()); monkeypatch.setenv("ASGML_MNIST_URL", refused_url())
    before = len(server.requested)
    assert cli("prepare", "avdigits") is None
    out = capsys.readouterr().out
    assert f"ready in {prepared / 'data'}" in out and "downloading" not in out and len(server.requested) == before

def test_offline_is_one_sentence_naming_urls_and_folders(fresh_machine, monkeypatch, capsys):
    fsdd, mnist, data = refused_url() + "fsdd.tar.gz", refused_url(), fresh_machine / "data"
    monkeypatch.setenv("ASGML_FSDD_URL", fsdd); monkeypatch.setenv("ASGML_MNIST_URL", mnist)
    assert cli("prepare", "avdigits") == 2
    err = capsys.readouterr().err
    assert err.startswith("asgml prepare: error: cannot download the AV-digits data") and len(err.strip().splitlines()) == 1, err
    for named in (fsdd, f"{mnist}{MNIST_FILES[0]}", str(data / "fsdd" / "recordings"), str(data / "mnist")): assert named in err
    assert not data.exists()
    assert cli("train", "--config", "avdigits", "--out", str(fresh_machine.parent / "run"), "--set", "log.wandb=false") == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "run `asgml prepare avdigits`" in err and str(data) in err, err

def test_corrupted_download_is_named_and_not_used(server, tmp_path, monkeypatch):
    monkeypatch.setenv("ASGML_FSDD_URL", url(server, "bad/fsdd.tar.gz")); monkeypatch.setenv("ASGML_MNIST_URL", url(server, "mnist"))
    with pytest.raises(DownloadError) as e: fetch_avdigits(tmp_path)
    folder = tmp_path / "downloads" / "recordings"
    assert f"{folder} does not hold the FSDD recordings as published: expected 3000 files" in str(e.value)
    assert "found 10 with digest" in str(e.value) and f"delete {folder}" in str(e.value)
    assert not (tmp_path / "data").exists()

def test_damaged_cache_is_named(prepared, tmp_path, monkeypatch):
    monkeypatch.setenv("ASGML_FSDD_URL", refused_url()); monkeypatch.setenv("ASGML_MNIST_URL", refused_url())
    shutil.copytree(prepared / "data", tmp_path / "data")
    wav = next((tmp_path / "data" / "fsdd" / "recordings").glob("*.wav"))
    raw = wav.read_bytes(); wav.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    with pytest.raises(DownloadError) as e: fetch_avdigits(tmp_path)
    assert f"delete {tmp_path / 'data' / 'fsdd' / 'recordings'} and run `asgml prepare avdigits` again" in str(e.value)

def test_demo_downloads_before_choosing_datasets(server, fresh_machine, monkeypatch, capsys):
    from asgml.cli import available_datasets
    monkeypatch.setenv("ASGML_FSDD_URL", refused_url()); monkeypatch.setenv("ASGML_MNIST_URL", refused_url())
    assert available_datasets(["synthetic", "avdigits"], download=True) == ["synthetic"]
    assert "skipping avdigits: cannot download the AV-digits data" in capsys.readouterr().out
    monkeypatch.setenv("ASGML_FSDD_URL", url(server, "fsdd.tar.gz")); monkeypatch.setenv("ASGML_MNIST_URL", url(server, "mnist"))
    assert available_datasets(["synthetic", "avdigits", "avdigits_speaker"], download=True) == ["synthetic", "avdigits", "avdigits_speaker"]
    assert mnist_digest(fresh_machine / "data" / "mnist") == MNIST_DIGEST
