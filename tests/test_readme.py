"""What the README tells someone trying the demo holds: the port is changed the way it
says, the village code it gives for the public report form is one the demo builds,
and the page where a cadre confirms the daily report is that village's."""

from __future__ import annotations

import re
from pathlib import Path

from django.urls import resolve

from fangkong.org.demo import TOWN_CODE, VILLAGE_NAMES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DEMO_VILLAGES = {f"{TOWN_CODE[:9]}{201 + i:03d}": name for i, name in enumerate(VILLAGE_NAMES)}


def test_the_port_is_changed_as_the_readme_says():
    assert "make demo PORT=8080" in README
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^PORT \?= 8000$", makefile, re.M)
    assert "runserver --noreload $(HOST):$(PORT)" in makefile


def test_the_readme_s_village_codes_are_demo_villages_and_real_pages():
    codes = set(re.findall(r"/r/(\d{12})/", README))
    assert codes, "the README gives no village code for /r/<code>/"
    assert codes <= set(DEMO_VILLAGES), codes - set(DEMO_VILLAGES)
    for code in codes:
        assert resolve(f"/r/{code}/").url_name == "report"
    # The cadre's page: a village report page, of a demo village, on a real route.
    confirm = re.findall(r"`(/reports/village/(\d{12})/)`", README)
    assert confirm and all(code in DEMO_VILLAGES for _path, code in confirm)
    assert all(resolve(path).url_name == "village" for path, _code in confirm)
    assert "cadre011" in README and DEMO_VILLAGES[confirm[0][1]] in README
