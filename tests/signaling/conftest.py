"""Shared by the amazon-chime-sdk-js browser tests: the bundled SDK test page, served from a loopback origin, and
a headless Chromium with fake capture devices."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import http.server
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.node import npm_ci

CHIMEJS = Path(__file__).resolve().parents[1] / "chime_js"
CHROMIUM = Path("/usr/bin/chromium")
WAIT_MS = 120_000
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>parley chime-js</title></head>
<body><audio id="audio"></audio><script src="/page.js"></script></body></html>"""


@pytest.fixture(scope="session")
def page_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bundled test page, served from a loopback origin; yields its URL."""
    # Both Chime JS test files need node_modules, and pytest-xdist may run them in two workers at once: one
    # `npm ci` at a time (a lock in the temp root the workers share), the second finds it done.
    with (tmp_path_factory.getbasetemp().parent / "chime-js-npm.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        npm_ci(CHIMEJS, "amazon-chime-sdk-js", "the amazon-chime-sdk-js tests")
    site = tmp_path_factory.mktemp("chime-js")
    (site / "index.html").write_text(PAGE, encoding="utf-8")
    out = site / "page.js"
    subprocess.run(
        [
            str(CHIMEJS / "node_modules" / ".bin" / "esbuild"), "page.js", "--bundle",
            "--platform=browser", "--main-fields=browser,module,main", "--define:global=globalThis",
            f"--outfile={out}", "--log-level=warning",
        ],
        cwd=CHIMEJS, check=True, timeout=120,
    )  # fmt: skip
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
    httpd.shutdown()
    thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextlib.contextmanager
def chromium(factory: pytest.TempPathFactory, capture: list[str], permissions: list[str]) -> Iterator[Any]:
    """Debian's Chromium, headless, with fake capture devices (``capture``: the ``--use-file-for-fake-*`` flags)
    and loopback ICE allowed (parley offers host candidates on this machine)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's Chromium (make system-deps)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", *capture,
                "--allow-loopback-in-peer-connection",
                "--disable-features=WebRtcHideLocalIpsWithMdns",
                "--autoplay-policy=no-user-gesture-required",
            ],
            permissions=permissions,
        )  # fmt: skip
        try:
            yield context
        finally:
            context.close()
