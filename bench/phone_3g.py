"""Phone pages on 3G: bytes transferred and first paint, cold and warm.

Run from the project root (needs chromium; builds its own throw-away server)::

    .venv/bin/python -m bench.phone_3g [--residents 3000] [--runs 3] [--project DIR]

It starts what `make demo` starts — `fangkong migrate`, `collectstatic`, `demo-town`
(a small one: `--residents`) and `runserver --noreload` — in a temporary data
directory, so static files are served the way the demo serves them. Chromium, driven by
Playwright, then loads three phone pages through a DevTools (CDP) session that throttles
the network to 400 kbit/s each way with 400 ms of latency
(`Network.emulateNetworkConditions`) and the CPU four times
(`Emulation.setCPUThrottlingRate`):

* 我的任务 (`/tasks/`) and one open task (`/tasks/<id>/`) as the grid worker `gw0101`,
* the public returnee form (`/r/<village>/`) without an account.

"Cold" is a new browser context (empty cache, the session cookie copied in); "warm" is
the same page loaded again in that context. Bytes are what came over the wire
(`Network.loadingFinished.encodedDataLength`: compressed bodies and headers); first
paint is the page's own `first-contentful-paint` entry. The median of `--runs` is
printed with the targets and with the ratio to the numbers of the field trial (issue
13: 397 KB and 8.6 s before first paint). `--project DIR` runs the server from another
checkout (e.g. an older commit unpacked with `git archive`) with this virtualenv, to
measure the code as it was; `--screenshots DIR` saves each page at 390x844.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, DemoLike, browser_available

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "fangkong-demo-2022"  # noqa: S105 - the demo town's published password
WORKER = "gw0101"
# 3G as the field trial measured it: 400 kbit/s down and up, 400 ms round trip.
KBIT = 400
LATENCY_MS = 400
CPU_SLOWDOWN = 4
# Issue 13's numbers for a cold /tasks/ or public form before the fix.
OLD_KB, OLD_PAINT_S = 397.0, 8.6
TARGET_COLD_KB, TARGET_WARM_KB, TARGET_PAINT_S = 100.0, 15.0, 3.0

# Prints the ids the pages need: an open task of the grid worker and a village code.
_FIND = f"""
from fangkong.workorders.models import OPEN_STATUSES, WorkOrder
from fangkong.org.models import Jurisdiction, Level
order = WorkOrder.objects.filter(assignee__username={WORKER!r}, status__in=OPEN_STATUSES).order_by("id").first()
village = Jurisdiction.objects.filter(level=Level.VILLAGE).order_by("code").first()
print("FOUND", order.pk, village.code)
"""


@dataclass
class Load:
    kb: float
    requests: int
    paint_s: float
    load_s: float
    resources: dict[str, int] = field(default_factory=dict)


@contextmanager
def demo_server(project: Path, residents: int) -> Iterator[tuple[str, int, str]]:
    """A demo server in a scratch data directory: (base URL, an open task, a village)."""
    with tempfile.TemporaryDirectory(prefix="fk-phone-3g-") as data:
        demo = DemoLike(project, Path(data))
        started = time.perf_counter()
        demo.run("migrate", "--no-input", "-v", "0")
        demo.run("collectstatic", "--no-input", "-v", "0")
        demo.run("demo_town", "--residents", str(residents))
        order, village = demo.run("shell", "-c", _FIND).split("FOUND")[-1].split()
        with demo.serving() as base:
            print(f"demo server ready in {time.perf_counter() - started:.1f} s ({project})")
            yield base, int(order), village


def _throttled(context: Any, page: Any) -> tuple[Any, dict[str, int]]:
    """Throttle the page like 3G and count the bytes of every response it receives."""
    cdp = context.new_cdp_session(page)
    received: dict[str, int] = {}
    urls: dict[str, str] = {}
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": LATENCY_MS,
            "downloadThroughput": KBIT * 1000 / 8,
            "uploadThroughput": KBIT * 1000 / 8,
        },
    )
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    cdp.on(
        "Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"])
    )
    cdp.on(
        "Network.loadingFinished",
        lambda e: received.__setitem__(
            urls.get(e["requestId"], e["requestId"]), int(e["encodedDataLength"])
        ),
    )
    return cdp, received


def _measure(page: Any, url: str, received: dict[str, int]) -> Load:
    received.clear()
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    timing = page.evaluate(
        """() => {
          const paint = performance.getEntriesByName("first-contentful-paint")[0];
          const nav = performance.getEntriesByType("navigation")[0];
          return [paint ? paint.startTime : -1, nav ? nav.loadEventEnd : -1];
        }"""
    )
    return Load(
        kb=sum(received.values()) / 1024,
        requests=sum(1 for n in received.values() if n > 0),
        paint_s=timing[0] / 1000,
        load_s=timing[1] / 1000,
        resources=dict(received),
    )


def _median(loads: list[Load]) -> Load:
    middle = sorted(loads, key=lambda x: x.paint_s)[len(loads) // 2]
    return Load(
        kb=statistics.median(x.kb for x in loads),
        requests=middle.requests,
        paint_s=statistics.median(x.paint_s for x in loads),
        load_s=statistics.median(x.load_s for x in loads),
        resources=middle.resources,
    )


def measure_pages(
    base: str, order: int, village: str, runs: int, shots: Path | None, verbose: bool
) -> list[tuple[str, Load, Load]]:
    from playwright.sync_api import sync_playwright

    phone: dict[str, Any] = {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "locale": "zh-CN",
    }
    pages = [
        ("我的任务 /tasks/", "/tasks/", True),
        ("task /tasks/<id>/", f"/tasks/{order}/", True),
        ("public form /r/<code>/", f"/r/{village}/", False),
    ]
    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        signing = browser.new_context(**phone)
        page = signing.new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", WORKER)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        session = signing.storage_state()
        signing.close()
        for label, path, signed_in in pages:
            cold, warm = [], []
            for run in range(runs):
                context = browser.new_context(**phone, storage_state=session if signed_in else None)
                page = context.new_page()
                _cdp, received = _throttled(context, page)
                cold.append(_measure(page, base + path, received))
                if shots is not None and run == 0:
                    shots.mkdir(parents=True, exist_ok=True)
                    name = path.strip("/").replace("/", "-") or "home"
                    page.screenshot(path=str(shots / f"{name}.png"))
                warm.append(_measure(page, base + path, received))
                context.close()
            results.append((label, _median(cold), _median(warm)))
            if verbose:
                for kind, load in (("cold", cold[0]), ("warm", warm[0])):
                    for url, size in sorted(load.resources.items()):
                        print(f"  {label} {kind}: {size / 1024:7.1f} KB  {url.replace(base, '')}")
        browser.close()
    return results


def report(results: list[tuple[str, Load, Load]], runs: int) -> None:
    print(
        f"\n3G: {KBIT} kbit/s down/up, {LATENCY_MS} ms latency, CPU x{CPU_SLOWDOWN}; "
        f"median of {runs} runs; phone 390x844\n"
    )
    head = (
        f"{'page':24} {'cold KB':>8} {'req':>4} {'paint s':>8} {'load s':>7}"
        f" {'warm KB':>8} {'req':>4} {'paint s':>8}  {'old/cold KB':>11} {'old/paint':>9}"
    )
    print(head)
    for label, cold, warm in results:
        print(
            f"{label:24} {cold.kb:8.1f} {cold.requests:4d} {cold.paint_s:8.2f} {cold.load_s:7.2f}"
            f" {warm.kb:8.1f} {warm.requests:4d} {warm.paint_s:8.2f}"
            f"  {OLD_KB / cold.kb:10.1f}x {OLD_PAINT_S / cold.paint_s:8.1f}x"
        )
    print(
        f"\ntargets: cold <= {TARGET_COLD_KB:.0f} KB and first paint <= {TARGET_PAINT_S:.0f} s; "
        f"warm <= {TARGET_WARM_KB:.0f} KB (issue 13 before: {OLD_KB:.0f} KB, {OLD_PAINT_S} s)"
    )
    missed = [
        label
        for label, cold, warm in results
        if cold.kb > TARGET_COLD_KB or cold.paint_s > TARGET_PAINT_S or warm.kb > TARGET_WARM_KB
    ]
    print("every page meets the targets" if not missed else f"MISSED: {', '.join(missed)}")
    print(
        json.dumps(
            {
                label: [round(c.kb, 1), round(c.paint_s, 2), round(w.kb, 1)]
                for label, c, w in results
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--project", type=Path, default=ROOT, help="the checkout to serve")
    parser.add_argument("--screenshots", type=Path, help="save each page (cold) here")
    parser.add_argument("--verbose", action="store_true", help="list every response")
    args = parser.parse_args()
    if not browser_available():
        parser.error(f"no chromium at {CHROMIUM}")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with demo_server(args.project.resolve(), args.residents) as (base, order, village):
        results = measure_pages(base, order, village, args.runs, args.screenshots, args.verbose)
    report(results, args.runs)


if __name__ == "__main__":
    main()
