"""Where the browser is and how to start it (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("FANGKONG_CHROMIUM", "/usr/bin/chromium")
# Without these, chromium tries Google's services and the closed network refuses them.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def browser_available() -> bool:
    return Path(CHROMIUM).exists()


def require_browser() -> None:
    """Called at the top of a browser test module: without chromium the module is
    skipped, unless the run demands the browser tests (FANGKONG_REQUIRE_BROWSER=1, as CI
    does), where a missing browser is an error rather than a silent skip. The module's
    tests take the `browser` fixture of tests/conftest.py."""
    if browser_available():
        return
    if os.environ.get("FANGKONG_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"FANGKONG_REQUIRE_BROWSER=1 but there is no chromium at {CHROMIUM}")
    import pytest

    pytest.skip(f"no chromium at {CHROMIUM}: browser tests skipped", allow_module_level=True)


@contextmanager
def launched_browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright  # imported late: optional at collection

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


# What a phone page must meet (issue 13): text contrast (WCAG AA) and tap targets.
MIN_CONTRAST, MIN_CONTRAST_LARGE, MIN_TARGET_PX = 4.5, 3.0, 44

# Every visible link, button and form control whose box is smaller than 44x44 CSS px.
# A stretched link's target is the card it stretches over; a checkbox's includes its
# label (tapping either ticks it). Returns "what WxH" strings.
SMALL_TARGETS_JS = """(min) => {
  const small = [];
  const what = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
    " " + JSON.stringify((el.innerText || el.value || el.name || "").trim().slice(0, 30));
  for (const el of document.querySelectorAll(
      "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]")) {
    if (el.closest("[aria-hidden=true]") || getComputedStyle(el).visibility === "hidden") continue;
    let r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1 || r.right <= 0) continue;  // not shown, or off-screen
    let box = {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
    const grow = (q) => { box = {left: Math.min(box.left, q.left), top: Math.min(box.top, q.top),
      right: Math.max(box.right, q.right), bottom: Math.max(box.bottom, q.bottom)}; };
    if (el.classList.contains("stretched-link")) {
      let p = el.parentElement;
      while (p && getComputedStyle(p).position === "static") p = p.parentElement;
      if (p) grow(p.getBoundingClientRect());
    }
    if ((el.type === "checkbox" || el.type === "radio") && el.labels) {
      for (const label of el.labels) grow(label.getBoundingClientRect());
    }
    const w = box.right - box.left, h = box.bottom - box.top;
    if (w < min - 0.5 || h < min - 0.5) small.push(what(el) + " " + Math.round(w) + "x" + Math.round(h));
  }
  return small;
}"""

# Every visible piece of text whose contrast with what is behind it is under WCAG AA
# (4.5:1, 3:1 for large text). The background is found by walking up to the first
# opaque ancestor and compositing the translucent ones over it; a gradient counts with
# its worst stop. Returns "what: text colour on background = ratio" strings.
LOW_CONTRAST_JS = """([normal, large]) => {
  const parse = (c) => {
    const m = c && c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const backgrounds = (el) => {
    const layers = [];
    let base = [255, 255, 255, 1], stops = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      const cs = getComputedStyle(n);
      const g = (cs.backgroundImage || "").match(/rgba?\\([^)]+\\)/g);
      if (g && !stops.length) stops = g.map(parse);
      const bg = parse(cs.backgroundColor);
      if (bg && bg[3] >= 1) { base = bg; break; }
      if (bg && bg[3] > 0) layers.push(bg);
    }
    let colour = base;
    for (let i = layers.length - 1; i >= 0; i--) colour = over(layers[i], colour);
    return stops.length ? stops.map((s) => over(s, colour)) : [colour];
  };
  const bad = [];
  const seen = new Set();
  const check = (el) => {
    if (seen.has(el)) return;
    seen.add(el);
    if (el.closest("[aria-hidden=true]") || el.disabled) return;
    const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if (cs.visibility === "hidden" || r.width <= 1 || r.height <= 1 || r.right <= 0) return;
    const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
    const need = size >= 24 || (size >= 18.66 && bold) ? large : normal;
    const bgs = backgrounds(el);
    const fg = parse(cs.color);
    const worst = Math.min(...bgs.map((bg) => ratio(over(fg, bg), bg)));
    if (worst < need - 0.005) {
      const text = (el.innerText || el.value || "").trim().slice(0, 30);
      bad.push(el.tagName.toLowerCase() + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
        " " + JSON.stringify(text) + ": " + cs.color + " on " + JSON.stringify(bgs) + " = " + worst.toFixed(2));
    }
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    if (t.textContent.trim() && t.parentElement && !["SCRIPT", "STYLE", "OPTION"].includes(t.parentElement.tagName)) check(t.parentElement);
  }
  for (const el of document.querySelectorAll("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea")) check(el);
  return bad;
}"""


def small_targets(page: Any) -> list[str]:
    """The links, buttons and controls on the page smaller than 44x44 px."""
    found: list[str] = page.evaluate(SMALL_TARGETS_JS, MIN_TARGET_PX)
    return found


def poll(page: Any, check: Callable[[], bool], seconds: float = 15.0) -> None:
    """Wait for `check()`; Playwright delivers events while the page is waited on.

    On SQLite the test and the live server share one in-memory database in shared-cache
    mode, where a read while the server's thread writes fails at once with "database
    table is locked" (no busy timeout applies): that read is "not yet", asked again."""
    from django.db import OperationalError

    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except OperationalError as e:
            if "locked" not in str(e):
                raise
        if time.monotonic() > deadline:
            raise AssertionError("never happened")
        page.wait_for_timeout(100)


def low_contrast(page: Any) -> list[str]:
    """The text on the page below WCAG AA contrast."""
    found: list[str] = page.evaluate(LOW_CONTRAST_JS, [MIN_CONTRAST, MIN_CONTRAST_LARGE])
    return found


@contextmanager
def served_as_in_production(static_root: Path) -> Iterator[None]:
    """Settings that serve static files as the demo and production do, collected into
    `static_root` first: hashed names, gzip copies, WhiteNoise (the suite otherwise
    links the sources by their plain names, tests/conftest.py)."""
    from django.conf import settings
    from django.core.management import call_command
    from django.test import override_settings

    from fangkong import settings as project

    with override_settings(
        STATIC_ROOT=static_root,
        STORAGES=project.STORAGES,
        WHITENOISE_USE_FINDERS=False,
        MEDIA_URL="/media/",
        MEDIA_ROOT=static_root / "media",
    ):
        assert settings.STORAGES["staticfiles"] == project.STORAGES["staticfiles"]
        call_command("collectstatic", interactive=False, verbosity=0)
        yield


def _no_static_handler(application: Any) -> Any:
    return application


@contextmanager
def live_server_as_in_production() -> Iterator[str]:
    """A live server whose static files go through the project's own middleware
    (WhiteNoise), not the test server's plain file handler; its base URL."""
    from django.db import connections
    from django.test.testcases import LiveServerThread

    # An in-memory SQLite test database is shared with the server's thread, as
    # pytest-django's live_server does; PostgreSQL needs nothing.
    shared = {c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()}  # type: ignore[attr-defined]
    for conn in shared.values():
        conn.inc_thread_sharing()
    handler: Any = _no_static_handler
    thread = LiveServerThread("localhost", static_handler=handler, connections_override=shared)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    try:
        if thread.error:
            raise thread.error
        yield f"http://localhost:{thread.port}"
    finally:
        thread.terminate()
        for conn in shared.values():
            conn.dec_thread_sharing()


class DemoLike:
    """What `make demo` runs — `fangkong <command>`s and `runserver --noreload` — from a
    checkout (`project`) with this interpreter, in a scratch data directory (`data`:
    SQLite file, keys, collected static files), whatever the environment's database."""

    def __init__(self, project: Path, data: Path) -> None:
        self.project = project
        self.env = {
            **os.environ,
            "FANGKONG_DATA_DIR": str(data),
            "DATABASE_URL": f"sqlite:///{data}/fangkong.sqlite3",
            "FANGKONG_STATIC_ROOT": str(data / "static"),
            "DJANGO_SETTINGS_MODULE": "fangkong.settings",
        }
        for name in ("FANGKONG_PRODUCTION", "FANGKONG_DEBUG"):
            self.env.pop(name, None)

    def run(self, *args: str) -> str:
        """`fangkong <args>`; its standard output."""
        import subprocess
        import sys

        done = subprocess.run(  # noqa: S603 - this interpreter, the project's own command
            [sys.executable, "-m", "fangkong", *args],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"fangkong {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    @contextmanager
    def serving(self, timeout: float = 60) -> Iterator[str]:
        """`fangkong runserver --noreload` on a free port, until the block ends; its URL."""
        import socket
        import subprocess
        import sys
        import time

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(  # noqa: S603 - this interpreter, the project's own command
            [sys.executable, "-m", "fangkong", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=self.project,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("the demo server did not start") from None
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(timeout=10)
