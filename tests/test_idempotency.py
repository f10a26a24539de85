"""Idempotency-Key on API writes: replay, refusal of a changed body, in flight, uploads."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image

from fangkong.org.models import IdempotencyRecord
from fangkong.reports.models import DailyReport
from fangkong.workorders.models import WorkOrder, WorkOrderPhoto
from tests.api_keys import KeyClient, issue_persona_key
from tests.world import ensure_orders

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _submit(client, world, key: str | None, values: dict[str, str] | None = None):
    """`key` None: no Idempotency-Key header at all."""
    headers = {"Accept-Language": "en"} | ({"Idempotency-Key": key} if key is not None else {})
    if isinstance(client, KeyClient):
        client.idempotency = key is not None
    return client.post(
        f"{API}/reports/daily/{world.nodes['A'].code}",
        {"values": values or {}},
        content_type="application/json",
        headers=headers,
    )


def test_a_retry_with_the_same_key_replays_without_running_again(world, login, monkeypatch):
    from fangkong.reports import services

    calls = []
    real = services.report_submit

    def counting(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, "report_submit", counting)
    for client in (KeyClient(issue_persona_key(world, "key_a").key), login("cadre_a")):
        calls.clear()
        first = _submit(client, world, "retry-1")
        again = _submit(client, world, "retry-1")
        assert first.status_code == again.status_code == 200, first.content
        assert again.content == first.content
        assert again["Idempotent-Replayed"] == "true"
        assert len(calls) == 1
    # Kept encrypted: an answer may hold what was shown once (an unmasked phone).
    stored = IdempotencyRecord.objects.filter(key="retry-1")
    assert stored.count() == 2 and all(b"deadline" not in bytes(r.body) for r in stored)
    assert DailyReport.objects.filter(village=world.nodes["A"]).count() == 1


def test_the_same_key_with_another_body_is_refused(world):
    client = KeyClient(issue_persona_key(world, "key_a").key)
    assert _submit(client, world, "k-body").status_code == 200
    other = _submit(client, world, "k-body", {"note": "改了"})
    assert other.status_code == 422
    assert "different request" in other.json()["errors"]["Idempotency-Key"][0]


def test_keys_are_per_principal(world, login):
    """Two principals may pick the same key: each has their own."""
    key_client = KeyClient(issue_persona_key(world, "key_a").key)
    assert _submit(key_client, world, "shared").status_code == 200
    cadre = _submit(login("cadre_a"), world, "shared", {"x": "1"})
    assert cadre.status_code != 422 and "Idempotent-Replayed" not in cadre


def test_a_key_write_without_the_header_is_refused(world):
    client = KeyClient(issue_persona_key(world, "key_a").key)
    missing = _submit(client, world, None)
    assert missing.status_code == 422
    assert "Idempotency-Key" in missing.json()["errors"]
    assert "needs an Idempotency-Key" in missing.json()["detail"]
    assert not DailyReport.objects.exists()
    # A session may leave it out.
    assert _submit(_cadre(world), world, None).status_code == 200


def _cadre(world):
    from django.test import Client

    client = Client()
    client.force_login(world.users["cadre_a"])
    return client


def test_a_request_in_flight_answers_409(world):
    from django.test import RequestFactory

    from fangkong.org.idempotency import fingerprint

    issued = issue_persona_key(world, "key_a")
    same = RequestFactory().post(
        f"{API}/reports/daily/{world.nodes['A'].code}",
        b'{"values": {}}',
        content_type="application/json",
    )
    # The first request claimed the key and has not answered yet.
    IdempotencyRecord.objects.create(
        principal=issued.client.principal, key="busy", fingerprint=fingerprint(same)
    )
    busy = _submit(KeyClient(issued.key), world, "busy")
    assert busy.status_code == 409, busy.content
    assert "in progress" in busy.json()["detail"]
    assert not DailyReport.objects.exists()


def test_a_server_error_frees_the_key(world, monkeypatch):
    from fangkong.reports import services

    client = KeyClient(issue_persona_key(world, "key_a").key)
    client.raise_request_exception = False

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "report_submit", broken)
    assert _submit(client, world, "k-500").status_code == 500
    assert not IdempotencyRecord.objects.filter(key="k-500").exists()
    monkeypatch.undo()
    assert _submit(client, world, "k-500").status_code == 200


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (40, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def test_a_multipart_upload_with_a_key_works_and_replays(world):
    ensure_orders(world)
    issued = issue_persona_key(world, "key_a")
    order = world.orders["A2"]
    # A machine client can be handed an order like a person (a camera on a checkpoint).
    WorkOrder.objects.filter(pk=order.pk).update(assignee=issued.client.principal)
    client = KeyClient(issued.key)
    photo = _jpeg()
    client_id = str(uuid.uuid4())

    def upload(key: str, data: bytes):
        return client.post(
            f"{API}/orders/{order.pk}/photos",
            {"photo": io.BytesIO(data), "client_id": client_id},
            headers={"Idempotency-Key": key},
        )

    before = WorkOrderPhoto.objects.count()
    first = upload("photo-1", photo)
    assert first.status_code == 200, first.content
    again = upload("photo-1", photo)
    assert again.status_code == 200 and again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert WorkOrderPhoto.objects.count() == before + 1
    # Another file under the same key is another request.
    changed = upload("photo-1", _jpeg() + b"\x00")
    assert changed.status_code == 422
    client.idempotency = False
    missing = client.post(
        f"{API}/orders/{order.pk}/photos", {"photo": io.BytesIO(photo), "client_id": client_id}
    )
    assert missing.status_code == 422


def test_old_records_are_swept_by_the_hourly_job(world):
    from datetime import timedelta

    from django.utils import timezone

    from fangkong.core.schedule import PERIODIC
    from fangkong.org.tasks import sweep_api_records_task

    job = PERIODIC["org.sweep_api_records"]
    assert job.every == timedelta(hours=1)
    issued = issue_persona_key(world, "key_a")
    old = IdempotencyRecord.objects.create(
        principal=issued.client.principal, key="old", fingerprint="x", status=200
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    IdempotencyRecord.objects.create(
        principal=issued.client.principal, key="new", fingerprint="x", status=200
    )
    sweep_api_records_task.call()
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_a_claim_left_by_a_dead_request_is_taken_over_by_the_retry(world, settings, monkeypatch):
    """A process that crashed mid-write leaves its claim in flight. Younger than a request
    can run, it still answers 409; older, the retry takes it over at once and the write
    runs exactly once, and the dead request, were it to end after all, changes nothing."""
    from datetime import timedelta

    from django.test import RequestFactory
    from django.utils import timezone

    from fangkong.org.idempotency import fingerprint, idempotency_finish
    from fangkong.reports import services

    calls = []
    real = services.report_submit

    def counting(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, "report_submit", counting)
    settings.FANGKONG_IDEMPOTENCY_IN_FLIGHT_SECONDS = 120
    issued = issue_persona_key(world, "key_a")
    same = RequestFactory().post(
        f"{API}/reports/daily/{world.nodes['A'].code}",
        b'{"values": {}}',
        content_type="application/json",
    )
    dead = IdempotencyRecord.objects.create(
        principal=issued.client.principal, key="crashed", fingerprint=fingerprint(same)
    )
    client = KeyClient(issued.key)
    # Within the bound: maybe still running, so not taken.
    recent = timezone.now() - timedelta(seconds=60)
    IdempotencyRecord.objects.filter(pk=dead.pk).update(created_at=recent)
    assert _submit(client, world, "crashed").status_code == 409
    assert not calls and not DailyReport.objects.exists()
    # Past it: the owner is dead; the retry runs the write, once.
    old = timezone.now() - timedelta(seconds=121)
    IdempotencyRecord.objects.filter(pk=dead.pk).update(created_at=old)
    retry = _submit(client, world, "crashed")
    assert retry.status_code == 200, retry.content
    assert "Idempotent-Replayed" not in retry
    assert len(calls) == 1 and DailyReport.objects.filter(village=world.nodes["A"]).count() == 1
    again = _submit(client, world, "crashed")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.content == retry.content and len(calls) == 1
    # The presumed-dead request ending late neither overwrites nor frees the new claim.
    from django.http import HttpResponse

    late = RequestFactory().post("/x")
    dead.created_at = old
    late.fk_idempotency = dead  # type: ignore[attr-defined]
    idempotency_finish(late, HttpResponse(b"late", status=201))
    idempotency_finish(late, HttpResponse(b"late", status=500))
    kept = IdempotencyRecord.objects.get(pk=dead.pk)
    assert kept.status == 200
    assert _submit(client, world, "crashed").content == retry.content
    # Another request under the key is still refused, crashed claim or not.
    assert _submit(client, world, "crashed", {"note": "改了"}).status_code == 422


def test_only_one_of_two_retries_takes_over_a_dead_claim(world, settings):
    from datetime import timedelta

    from django.utils import timezone

    from fangkong.org.idempotency import _take_over

    issued = issue_persona_key(world, "key_a")
    claim = IdempotencyRecord.objects.create(
        principal=issued.client.principal, key="twice", fingerprint="f"
    )
    old = timezone.now() - timedelta(seconds=settings.FANGKONG_IDEMPOTENCY_IN_FLIGHT_SECONDS + 1)
    IdempotencyRecord.objects.filter(pk=claim.pk).update(created_at=old)
    # Both retries read the same dead claim; the second renewal finds it renewed.
    first, second = (IdempotencyRecord.objects.get(pk=claim.pk) for _ in range(2))
    assert _take_over(first) is not None
    assert _take_over(second) is None
