"""Where the browser is and how to start it (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import os
from pathlib import Path

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
