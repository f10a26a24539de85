"""Households' requests in the town bulletin: on 2 March 四喜社区 had four requests for
medicine (answered in 10, 20, 30 and 300 minutes against a 240-minute target) and one
dialysis request handed over in 25 minutes; 红星村 had none. The bulletin counts them as
columns, and its response-time section gives the median and the 90th percentile by
village and kind with the late one named (masked) — on the page, in the .docx and in
the .xlsx opened back, and through the API."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from docx import Document
from openpyxl import load_workbook

from fangkong.assist.models import HelpRequest, RequestKind
from fangkong.reports.bulletin import bulletin_generate
from tests.world import ensure_registry

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 2)


def at(hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(DAY, time(hour, minute)))


def _ask(person, kind, asked: datetime, minutes: int, handover: bool = False) -> HelpRequest:
    answered = asked + timedelta(minutes=minutes)
    return HelpRequest.objects.create(
        person=person,
        jurisdiction=person.jurisdiction,
        kind=kind,
        channel="phone",
        created_at=asked,
        due_at=asked + timedelta(minutes=kind.target_minutes),
        status="handed_over" if handover else "served",
        served_at=None if handover else answered,
        handover="120" if handover else "",
        handover_at=answered if handover else None,
        green=kind.green,
        client_id=uuid.uuid4(),
    )


def test_response_times_in_the_bulletin(world):
    ensure_registry(world)
    person = world.persons["A1M1"]
    medicine = RequestKind.objects.get(code="medicine")
    dialysis = RequestKind.objects.get(code="dialysis")
    assert medicine.target_minutes == 240
    for i, minutes in enumerate((10, 20, 30, 300)):
        _ask(person, medicine, at(9, i), minutes)
    _ask(person, dialysis, at(10), 25, handover=True)
    _ask(person, medicine, at(9) - timedelta(days=1), 5)  # the day before: not counted
    bulletin = bulletin_generate(node=world.nodes["T"], day=DAY, now=at(18))
    s = bulletin.summary
    assert s["totals"]["assist_requests"] == 5 and s["totals"]["assist_late"] == 1
    assert {(t["village"], t["kind"]) for t in s["response_times"]} == {
        ("四喜社区", "药品"),
        ("四喜社区", "透析"),
    }
    med = next(t for t in s["response_times"] if not t["green"])
    green = next(t for t in s["response_times"] if t["green"])
    assert (med["asked"], med["answered"], med["median"], med["p90"]) == (4, 4, 20.0, 300.0)
    masked = med["late"][0][0]
    assert med["late"] == [[masked, 60, True]] and masked != person.name and "*" in masked
    assert (green["asked"], green["median"], green["p90"], green["late"]) == (1, 25.0, 25.0, [])
    # The documents, opened back.
    doc = "\n".join(p.text for p in Document(io.BytesIO(bytes(bulletin.docx))).paragraphs)
    assert "四喜社区" in doc and masked in doc and "300" in doc
    book = load_workbook(io.BytesIO(bytes(bulletin.xlsx)))
    # Bulletin, late and missing, response times, highlights.
    sheet = book.worksheets[2]
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [v[:6] for v in values] == [
        ["四喜社区", "透析", 1, 1, "25", "25"],
        ["四喜社区", "药品", 4, 4, "20", "300"],
    ]
    assert masked in str(values[1][6])
    # The bulletin page and the API of the commander.
    client = Client()
    client.force_login(world.users["commander"])
    page = client.get(f"/reports/bulletins/{bulletin.pk}/").content.decode()
    assert 'id="fk-bulletin-times"' in page and masked in page
    api = client.get(f"/api/v1/reports/bulletins/{bulletin.pk}").json()
    assert len(api["response_times"]) == 2
