"""The purpose of an unmasking or an unmasked export must be words, wherever it is typed."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.core.purpose import clean_purpose, normalise_purpose, purpose_is_words
from tests.world import ensure_registry

# Nothing a reader of the audit log could take for a reason.
EMPTY_PURPOSES = [
    "\u200b\u200b\u200b\u200b",  # four zero-width spaces
    "....",
    "。。。。",
    "\u3000\u3000\u3000\u3000",  # ideographic spaces
    "1234",
    "??!!",
    "😀😀😀😀",
    "核\u200b\u200b\u200b",  # one character padded with invisible ones
    "abc",
    "\u202e\u2066....\u2069",  # direction controls around dots
]


@pytest.mark.parametrize("text", EMPTY_PURPOSES)
def test_a_purpose_without_words_is_refused(text):
    assert not purpose_is_words(text)


@pytest.mark.parametrize("text", ["核对", "上门核实身份", "check", "核对 ID", "ＣＨＥＣＫ"])
def test_a_purpose_in_words_is_accepted(text):
    assert purpose_is_words(text)


def test_the_purpose_kept_is_normalised():
    assert normalise_purpose(" \u200b核对\u200d名单\u3000\u3000来源 \n") == "核对名单 来源"
    assert clean_purpose("ＣＨＥＣＫ") == "CHECK"


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["\u200b\u200b\u200b\u200b", "....", "。。。。"])
def test_unmask_pages_refuse_an_empty_purpose_and_say_what_is_needed(world, login, text):
    ensure_registry(world)
    gw = login("gw_a1")
    person = world.persons["A1M1"]
    refused = gw.post(f"/people/p/{person.pk}/unmask/", {"purpose": text})
    assert refused.status_code == 400
    assert "11010519491231002X" not in refused.content.decode()
    assert "2 Chinese characters or 4 letters" in _english(
        gw, f"/people/p/{person.pk}/unmask/", text
    )
    staff = world.staff["A1"]
    assert gw.post(f"/org/staff/{staff.pk}/unmask/", {"purpose": text}).status_code == 400
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW_PII).exists()
    shown = gw.post(f"/people/p/{person.pk}/unmask/", {"purpose": "\u200b核对\u200b"})
    assert shown.status_code == 200 and "11010519491231002X" in shown.content.decode()
    assert AuditEvent.objects.get(action=AuditAction.VIEW_PII).purpose == "核对"


def _english(client: Client, url: str, purpose: str) -> str:
    client.cookies["django_language"] = "en"
    try:
        return str(client.post(url, {"purpose": purpose}).content.decode())
    finally:
        del client.cookies["django_language"]


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["\u200b\u200b\u200b\u200b", "...."])
def test_unmasked_exports_refuse_an_empty_purpose(world, login, text):
    ensure_registry(world)
    commander = login("commander")
    for url in ("/people/export.csv", "/org/staff/export.csv"):
        response = commander.get(f"{url}?unmask=1&purpose={quote(text)}")
        assert response.status_code == 400, url
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.django_db
def test_the_api_refuses_an_empty_purpose(world, login):
    gw = login("gw_a1")
    staff = world.staff["A1"]
    for text in ("\u200b\u200b\u200b\u200b", "...."):
        response = gw.post(
            f"/api/v1/org/staff/{staff.pk}/unmask",
            data={"purpose": text},
            content_type="application/json",
        )
        assert response.status_code == 400 and "13900000013" not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW_PII).exists()


@pytest.mark.django_db
def test_the_export_command_refuses_an_empty_purpose(world, tmp_path: Path):
    ensure_registry(world)
    out = tmp_path / "people.csv"
    for text in ("\u200b\u200b\u200b\u200b", "...."):
        with pytest.raises(CommandError, match="purpose"):
            call_command(
                "export",
                "people",
                "--jurisdiction",
                world.nodes["T"].code,
                "-o",
                str(out),
                "--unmask",
                "--purpose",
                text,
            )
    assert not out.exists()
    call_command(
        "export",
        "people",
        "--jurisdiction",
        world.nodes["T"].code,
        "-o",
        str(out),
        "--unmask",
        "--purpose",
        " 核对\u200b名单 ",
    )
    assert AuditEvent.objects.get(action=AuditAction.EXPORT).purpose == "核对名单"
