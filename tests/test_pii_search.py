"""A searched ID number or phone never reaches a URL, an audit record, a log or a
stored column: search forms post, and the address carries a session token instead."""

from __future__ import annotations

import html
import logging
import re
import uuid
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db.models import Model
from django.test import Client

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.core.crypto import blind_index
from fangkong.core.search_terms import holds_digits, term_for_record
from fangkong.workorders.models import WorkOrder
from tests.world import ensure_registry

ID_A1 = "11010519491231002X"  # 沈楼居, micro-grid A1M1
PHONE_A1 = "13600000001"
STAFF_PHONE_A1 = "13900000013"  # 陈红员, the A1 grid's extra staff member
# Every spelling the clear values might be written in.
CLEAR = [ID_A1, ID_A1.lower(), PHONE_A1, "136 0000 0001", STAFF_PHONE_A1]

_URL_ATTRS = re.compile(r'(?:href|action|src|hx-get|hx-post|hx-push-url)="([^"]*)"')


def _urls(response: Any) -> list[str]:
    """Every address a response names: its redirect, htmx's pushed URL, the links."""
    urls = [response.get("Location", ""), response.get("HX-Push-Url", "")]
    if not getattr(response, "streaming", False):
        urls += [html.unescape(u) for u in _URL_ATTRS.findall(response.content.decode())]
    return [u for u in urls if u]


def _assert_clean_urls(response: Any) -> None:
    for url in _urls(response):
        for value in CLEAR:
            assert value not in url and value.replace(" ", "+") not in url, url
        assert not re.search(r"[?&]q=[^&]*\d", url), f"a term with digits in {url}"


def _search(client: Client, path: str, term: str) -> tuple[str, Any]:
    """Post the search form as a browser without script does; follow to the list."""
    posted = client.post(path, {"q": term})
    assert posted.status_code == 302
    _assert_clean_urls(posted)
    location = posted["Location"]
    page = client.get(location)
    assert page.status_code == 200
    _assert_clean_urls(page)
    return location, page


def _rows(model: type[Model]) -> str:
    """Every column of every row, the JSON ones included."""
    columns = [f.attname for f in model._meta.concrete_fields]
    return repr(list(model._default_manager.values_list(*columns)))


def _link(page: Any, fragment: str) -> str:
    return next(u for u in _urls(page) if fragment in u)


@pytest.mark.django_db
def test_searching_and_exporting_by_id_or_phone_leaves_no_clear_value_anywhere(
    world, login, caplog
):
    ensure_registry(world)
    caplog.set_level(logging.DEBUG)
    cadre = login("cadre_a")
    for term in (ID_A1, ID_A1.lower(), PHONE_A1, "136 0000 0001"):
        location, page = _search(cadre, "/people/", term)
        assert "t=" in location
        text = page.content.decode()
        assert "沈楼居" in text and "韩东居" not in text  # found by the term, and only them
        # The list's links carry the token: the next page, the exports, the dispatch.
        export = cadre.get(_link(page, "/people/export.csv"))
        assert export.status_code == 200
        rows = b"".join(export.streaming_content).decode("utf-8-sig")
        assert "沈楼居" in rows and "韩东居" not in rows and ID_A1 not in rows
        assert cadre.get(_link(page, "/orders/dispatch/")).context["total"] == 1
        # The live search (htmx) answers with the rows and an address to push, token too.
        live = cadre.post("/people/", {"q": term}, HTTP_HX_REQUEST="true")
        assert live.status_code == 200 and "沈楼居" in live.content.decode()
        assert "t=" in live["HX-Push-Url"]
        _assert_clean_urls(live)

    # An order dispatched from the searched list records where it came from, masked.
    dispatch_url = _link(_search(cadre, "/people/", ID_A1)[1], "/orders/dispatch/")
    dispatched = cadre.post(
        dispatch_url,
        {
            "kind": "visit_household",
            "per": "person",
            "strategy": "grid",
            "due_hours": "24",
            "priority": "3",
            "batch": str(uuid.uuid4()),
        },
    )
    assert dispatched.status_code == 302
    order = WorkOrder.objects.get()
    assert order.source.startswith("people:q=110*") and ID_A1 not in order.source

    # The roster's search, by a staff member's phone, and the API's.
    _location, staff_page = _search(cadre, "/org/staff/", STAFF_PHONE_A1)
    assert "陈红员" in staff_page.content.decode()
    found = cadre.post(
        "/api/v1/org/staff/search",
        data={"q": STAFF_PHONE_A1},
        content_type="application/json",
    )
    assert [s["name"] for s in found.json()] == ["陈红员"]

    exports = AuditEvent.objects.filter(action=AuditAction.EXPORT)
    assert exports.count() == 4
    # An auditor finds every export that searched for one person by the keyed hash.
    assert exports.filter(detail__filters__q_hash=blind_index(ID_A1)).count() == 2
    assert exports.filter(detail__filters__q="136****0001").count() == 2
    sessions = [repr(s.get_decoded()) for s in Session.objects.all()]
    stored = "\n".join([_rows(AuditEvent), _rows(WorkOrder), *sessions])
    logged = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {getattr(r, 'request', '')}" for r in caplog.records
    )
    for value in CLEAR:
        assert value not in stored, f"{value} stored in clear"
        assert value not in logged, f"{value} logged in clear"


@pytest.mark.django_db
def test_an_id_or_phone_in_the_address_is_not_searched_for(world, login):
    ensure_registry(world)
    cadre = login("cadre_a")
    for term in (ID_A1, PHONE_A1):
        page = cadre.get(f"/people/?q={term}")
        text = page.content.decode()
        assert page.status_code == 200 and "沈楼居" not in text and 'id="fk-q-error"' in text
        assert cadre.get(f"/people/export.csv?q={term}").status_code == 400
        staff = cadre.get(f"/org/staff/?q={STAFF_PHONE_A1}").content.decode()
        assert "陈红员" not in staff and 'id="fk-q-error"' in staff
    api = cadre.get(f"/api/v1/org/staff?q={STAFF_PHONE_A1}")
    assert api.status_code == 400 and "POST /org/staff/search" in api.json()["detail"]
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.django_db
def test_a_token_means_nothing_outside_its_session(world, login):
    ensure_registry(world)
    location, _page = _search(login("cadre_a"), "/people/", ID_A1)
    other = login("commander")
    page = other.get(location)
    text = page.content.decode()
    assert page.status_code == 200 and "沈楼居" not in text and 'id="fk-q-error"' in text
    export_url = location.replace("/people/?", "/people/export.csv?")
    assert other.get(export_url).status_code == 400  # not the whole town instead
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.django_db
def test_names_stay_readable_in_the_address(world, login):
    ensure_registry(world)
    location, page = _search(login("gw_a1"), "/people/", "slj")
    assert location.endswith("?q=slj") and "沈楼居" in page.content.decode()


def test_what_a_record_keeps_of_a_search_term():
    assert term_for_record(ID_A1.lower()) == {
        "q": "110***********002X",
        "q_hash": blind_index(ID_A1),
    }
    assert term_for_record("+86 136 0000 0001") == {
        "q": "136****0001",
        "q_hash": blind_index(PHONE_A1),
    }
    assert term_for_record("002X") == {"q": "**2X"}
    assert term_for_record("沈楼居") == {"q": "沈*居"}
    assert term_for_record("") == {}
    assert holds_digits("１３６") and not holds_digits("slj")
