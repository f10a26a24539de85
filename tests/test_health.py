"""`/healthz` for a load balancer: 200 when the database answers, a worker beats, the
queue keeps up and the disk has room; 503 naming the failed check otherwise. Cheap, no
session, no personal data, answered before the host check and the HTTPS redirect."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from fangkong.core import workers
from fangkong.core.models import Worker
from fangkong.core.tasks import purge_uploads_task

pytestmark = pytest.mark.django_db


def _beat(ago: timedelta = timedelta(0)) -> None:
    Worker.objects.create(
        worker_id="w1", host=workers.this_host(), pid=1, seen_at=timezone.now() - ago
    )


def _get(path: str = "/healthz", **extra: Any) -> tuple[int, dict[str, Any], Any]:
    response = Client().get(path, **extra)
    return response.status_code, json.loads(response.content), response


def test_healthy_is_200_with_every_check_and_nothing_personal(
    django_assert_max_num_queries, settings
):
    _beat(timedelta(seconds=20))
    with django_assert_max_num_queries(3):
        status, body, response = _get()
    assert status == 200, body
    assert body["status"] == "ok" and body["failed"] == []
    assert set(body["checks"]) == {"database", "queue", "disk"}
    assert body["checks"]["queue"]["worker_seen_seconds"] >= 20
    assert body["checks"]["disk"]["free_mb"] > 0
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    # No session, no CSRF cookie, no language: the rest of the middleware never ran.
    assert not response.cookies
    assert "Content-Language" not in response
    text = response.content.decode()
    assert workers.this_host() not in text and str(settings.DATA_DIR) not in text


def test_a_load_balancer_probing_by_address_over_http_is_answered(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["fangkong.example.gov.cn"]
    _beat()
    status, body, _response = _get(HTTP_HOST="10.0.0.5:8000")
    assert status == 200, body
    # Everything else still goes through the host check.
    assert Client().get("/accounts/login/", HTTP_HOST="10.0.0.5:8000").status_code == 400


def test_database_down_is_503_naming_it_without_its_error():
    _beat()
    secret = "could not connect to server 10.1.2.3 as user fangkong"
    with mock.patch("fangkong.core.health.connection.cursor", side_effect=OperationalError(secret)):
        status, body, response = _get()
    assert status == 503
    assert body["status"] == "fail"
    assert body["failed"] == ["database", "queue"]
    assert body["checks"]["database"] == {"ok": False, "error": "unreachable"}
    assert "10.1.2.3" not in response.content.decode()


def test_stale_worker_is_503():
    _beat(timedelta(minutes=30))
    status, body, _response = _get()
    assert status == 503
    assert body["failed"] == ["queue"]
    assert body["checks"]["queue"]["error"] == "worker stale"


def test_no_worker_is_503():
    status, body, _response = _get()
    assert status == 503
    assert body["checks"]["queue"]["error"] == "no worker"


def test_a_queue_falling_behind_is_503():
    _beat()
    result = purge_uploads_task.enqueue()
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(pk=result.id).update(
        enqueued_at=timezone.now() - timedelta(minutes=10)
    )
    status, body, _response = _get()
    assert status == 503
    assert body["checks"]["queue"]["error"] == "queue behind"
    assert body["checks"]["queue"]["oldest_ready_seconds"] >= 600


def test_scope_web_leaves_the_worker_to_the_monitor():
    _beat(timedelta(minutes=30))
    status, body, _response = _get("/healthz?scope=web")
    assert status == 200
    assert set(body["checks"]) == {"database", "disk"}


def test_a_full_disk_is_503(settings):
    _beat()
    settings.FANGKONG_HEALTH_MIN_FREE_MB = 10**12
    status, body, _response = _get()
    assert status == 503
    assert body["failed"] == ["disk"]


def test_only_get_and_head():
    assert Client().post("/healthz").status_code == 405
    _beat()
    assert Client().head("/healthz").status_code == 200
