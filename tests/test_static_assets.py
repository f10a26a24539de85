"""What phones download (issue 13): the Bootstrap subset, hashed and compressed static
files with a year's cache, gzipped pages, and colours at WCAG AA contrast.

The browser side — bytes per page as served, 44 px targets, contrast of the rendered
pages — is tests/test_phone_pages.py; the time on 3G is bench/phone_3g.py.
"""

from __future__ import annotations

import gzip
import http.client
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage

from tests.browser_support import MIN_CONTRAST, DemoLike, served_as_in_production
from tools import css_subset

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "fangkong" / "static"
YEAR = 365 * 24 * 3600


# -- the Bootstrap subset -------------------------------------------------------------


def test_every_bootstrap_class_the_project_uses_is_in_the_subset():
    missing = css_subset.missing_from_subset()
    assert not missing, (
        f"Bootstrap classes used but not in the subset: {missing}; "
        "run `python -m tools.css_subset` and commit the result"
    )


def test_the_committed_subset_is_what_the_script_builds():
    assert css_subset.TARGET.read_text(encoding="utf-8") == css_subset.build(), (
        "run `python -m tools.css_subset` and commit the result"
    )


def test_a_class_a_template_starts_using_is_reported_missing(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "page.html").write_text(
        '<div class="placeholder-glow {% if x %}carousel-item{% endif %} fk-own"></div>'
        '<p class="alert-{{ level }}">'
    )
    (tmp_path / "static" / "fangkong").mkdir(parents=True)
    missing = css_subset.missing_from_subset(package=tmp_path)
    assert {"placeholder-glow", "carousel-item"} <= set(missing)
    assert missing["carousel-item"].endswith("page.html")
    assert "fk-own" not in missing  # not a Bootstrap class
    assert "alert-danger" not in missing  # the subset has every alert-*


def test_class_names_are_read_from_attributes_with_template_tags():
    tokens = css_subset.template_tokens(
        "nav-link{% if tab == 'today' %} active{% endif %} text-bg-{{ colour }} {# note #}"
    )
    assert tokens[:2] == ["nav-link", "active"]
    assert tokens[2].startswith("text-bg-") and len(tokens) == 3


def test_the_subset_keeps_what_pages_need_and_drops_the_rest():
    text = css_subset.TARGET.read_text(encoding="utf-8")
    assert ".btn-danger{" in text and ".navbar-collapse" in text
    assert ".collapse:not(.show){display:none}" in text  # fangkong/nav.js toggles .show
    assert ".carousel" not in text and ".modal" not in text and ".offcanvas" not in text
    assert "[data-bs-theme=dark]" not in text
    assert len(text.encode()) < 80 * 1024  # the full sheet is 232 KB


# -- static files as the demo and production serve them --------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("collected") / "static"
    with served_as_in_production(root):
        yield root


def test_collectstatic_writes_hashed_and_gzipped_copies(served):
    url = staticfiles_storage.url("vendor/bootstrap/bootstrap.subset.css")
    assert re.search(r"bootstrap\.subset\.[0-9a-f]{12}\.css$", url), url
    hashed = served / url.removeprefix("/static/")
    assert hashed.exists() and (hashed.parent / (hashed.name + ".gz")).exists()
    # The dashboard's full sheet collects too (its source-map comment named a missing file).
    assert staticfiles_storage.url("vendor/bootstrap/bootstrap.min.css").endswith(".css")


@pytest.mark.parametrize(
    "name", ["vendor/bootstrap/bootstrap.subset.css", "vendor/htmx/htmx.min.js", "fangkong/nav.js"]
)
def test_static_files_are_served_compressed_and_cached_for_a_year(served, client, name):
    response = client.get(staticfiles_storage.url(name), HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]
    max_age = re.search(r"max-age=(\d+)", response["Cache-Control"])
    assert max_age and int(max_age.group(1)) >= YEAR
    body = b"".join(response.streaming_content)
    assert len(body) < (served / name).stat().st_size / 2  # actually smaller


def test_pages_link_the_hashed_files_and_come_gzipped(served, world, login):
    response = login("anonymous").get(f"/r/{world.nodes['A'].code}/", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    html = gzip.decompress(response.content).decode()
    assert staticfiles_storage.url("vendor/bootstrap/bootstrap.subset.css") in html
    assert "bootstrap.min.css" not in html and "bootstrap.bundle" not in html
    scripts = re.findall(r"<script [^>]*>", html)
    assert scripts and all(" defer" in tag for tag in scripts), scripts
    assert len(response.content) < len(html.encode()) / 3


def _get(base: str, path: str) -> tuple[http.client.HTTPResponse, bytes]:
    where = urlsplit(base)
    conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
    conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def test_the_demo_serves_hashed_gzipped_static_files_cached_for_a_year(tmp_path):
    """What `make demo` runs, for real: collectstatic, then `runserver --noreload`, where
    WhiteNoise serves the collected files (whitenoise.runserver_nostatic keeps
    runserver's own file handler out, and the finders are off)."""
    demo = DemoLike(ROOT, tmp_path)
    demo.run("collectstatic", "--no-input", "-v", "0")
    with demo.serving() as base:  # the sign-in page needs no tables: no migrate
        page, body = _get(base, "/accounts/login/")
        assert page.status == 200 and page.headers["Content-Encoding"] == "gzip"
        html = gzip.decompress(body).decode()
        linked = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
        assert len(linked) >= 4, linked  # the icon, two sheets, two scripts
        for path in linked:
            assert re.search(r"\.[0-9a-f]{12}\.\w+$", path), path
            response, _ = _get(base, path)
            assert response.status == 200, path
            cache = response.headers["Cache-Control"]
            max_age = re.search(r"max-age=(\d+)", cache)
            assert "immutable" in cache and max_age and int(max_age.group(1)) >= YEAR, cache
            if path.endswith((".css", ".js")):
                assert response.headers["Content-Encoding"] == "gzip", path


def test_downloads_are_not_compressed(world, login):
    """Exports and the API stay as they are (docs/adr/0011: BREACH); pages are gzipped."""
    client = login("commander")
    page = client.get("/orders/board/", HTTP_ACCEPT_ENCODING="gzip")
    assert page["Content-Encoding"] == "gzip"
    export = client.get("/orders/board/export.csv", HTTP_ACCEPT_ENCODING="gzip")
    assert export.status_code == 200 and not export.has_header("Content-Encoding")
    api = client.get("/api/v1/openapi.json", HTTP_ACCEPT_ENCODING="gzip")
    assert api.status_code == 200 and not api.has_header("Content-Encoding")


# -- colours --------------------------------------------------------------------------


def _rgba(value: str) -> tuple[float, float, float, float]:
    value = value.strip().lower()
    if value.startswith("#"):
        digits = value[1:]
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        r, g, b = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
        return r, g, b, 1.0
    parts = [float(p) for p in re.findall(r"[\d.]+", value)]
    return parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else 1.0


def _over(top: tuple[float, ...], bottom: tuple[float, ...]) -> tuple[float, float, float, float]:
    a = top[3]
    r, g, b = (top[i] * a + bottom[i] * (1 - a) for i in range(3))
    return r, g, b, 1.0


def _luminance(c: tuple[float, ...]) -> float:
    def channel(v: float) -> float:
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2])


def contrast(text: str, background: str) -> float:
    bg = _over(_rgba(background), (255, 255, 255, 1))
    fg = _over(_rgba(text), bg)
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _rules(path: Path) -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) of every style rule, at any depth, one per selector."""
    rules, _ = css_subset.parse(path.read_text(encoding="utf-8"))
    flat: list[tuple[str, dict[str, str]]] = []
    stack = list(rules)
    while stack:
        rule = stack.pop(0)
        stack.extend(rule.children)
        if rule.body is not None and not rule.prelude.startswith("@"):
            decls = css_subset.declarations(rule.body)
            flat.extend((selector, decls) for selector in css_subset.split_selectors(rule.prelude))
    return flat


def _first(path: Path, selector: str) -> dict[str, str]:
    return next(decls for s, decls in _rules(path) if s == selector)


def test_contrast_arithmetic_matches_wcag():
    assert round(contrast("#000", "#fff"), 1) == 21.0
    assert round(contrast("#6c757d", "#fff"), 2) == 4.69  # Bootstrap's secondary grey
    # The old menu: 55% white on the bar's red (2.6:1 at the gradient's lighter top).
    assert round(contrast("rgba(255, 255, 255, 0.55)", "#b71c1c"), 2) == 2.86


def test_every_colour_pair_in_app_css_meets_wcag_aa():
    low = []
    for selector, decls in _rules(STATIC / "fangkong" / "app.css"):
        background = decls.get("background-color") or decls.get("background")
        if background and "color" in decls and not background.startswith(("url", "var")):
            ratio = contrast(decls["color"], background)
            if ratio < MIN_CONTRAST:
                low.append(f"{selector}: {decls['color']} on {background} = {ratio:.2f}")
    assert not low, low


def test_menu_text_on_the_red_bar_meets_wcag_aa():
    """The menu's links, brand and toggler on the bar's red, at the gradient's lighter
    top too (Bootstrap's bg-gradient: 15% white)."""
    app = _first(STATIC / "fangkong" / "app.css", ".fk-nav")
    bootstrap = STATIC / "vendor" / "bootstrap" / "bootstrap.min.css"
    dark_bar = _first(bootstrap, ".navbar-dark")
    bar = app["background-color"]
    stops = re.findall(r"rgba\([^)]*\)", _first(bootstrap, ":root")["--bs-gradient"])
    backgrounds = [bar] + [
        "rgb({:.0f}, {:.0f}, {:.0f})".format(*_over(_rgba(s), _rgba(bar))[:3]) for s in stops
    ]
    for variable in ("--bs-navbar-color", "--bs-navbar-brand-color", "--bs-navbar-active-color"):
        colour = app.get(variable) or dark_bar[variable]
        for background in backgrounds:
            ratio = contrast(colour, background)
            assert ratio >= MIN_CONTRAST, (variable, colour, background, round(ratio, 2))


def test_error_messages_get_bootstraps_red_alert():
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message

    assert Message(constants.ERROR, "x").tags == "danger"
    assert Message(constants.WARNING, "x").tags == "warning"


@pytest.mark.django_db
def test_the_service_worker_is_served_from_the_root_and_never_cached(client):
    """Its scope is the folder it is served from: the root, so that it covers the phone
    pages; no-cache, so that a new version reaches the phones at their next visit."""
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    assert 'var STATIC = "/static/";' in body and 'var LOGIN = "/accounts/login/";' in body
