"""The example client of docs/examples runs against a live server with a key."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from fangkong.notify.models import Notice
from fangkong.org.roles import Perm
from tests.api_keys import issue_key
from tests.world import PASSWORD, build_world

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "fangkong_client.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fangkong_client", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fangkong_client"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.django_db(transaction=True)
def test_the_example_client_reads_pages_and_writes(live_server, settings):
    from django.contrib.auth.hashers import make_password

    world = build_world(password_hash=make_password(PASSWORD))
    issued = issue_key(
        world,
        node="A",
        perms=[Perm.ORG_VIEW, Perm.REPORTS_VIEW, Perm.REPORTS_SUBMIT],
    )
    key = issued.key
    example = _example()
    api = example.FangkongClient(live_server.url, key=key, language="en", attempts=1)
    names = [team["name"] for team in api.get("/org/teams")]
    assert "四喜红色服务队" in names and "建设志愿梯队" not in names
    village = world.nodes["A"].code
    first = api.post(f"/reports/daily/{village}", {"values": {}}, idempotency_key="one")
    again = api.post(f"/reports/daily/{village}", {"values": {}}, idempotency_key="one")
    assert first == again
    with pytest.raises(example.ApiError) as refused:
        api.get(f"/reports/daily/{world.nodes['B'].code}")
    assert refused.value.status == 404
    # Cursor pages, followed to the end: the key's own inbox, one notice a page.
    Notice.objects.bulk_create(
        Notice(user=issued.client.principal, title=f"通知{i}") for i in range(3)
    )
    titles = [n["title"] for n in api.pages("/notify/notices", limit=1)]
    assert titles == ["通知2", "通知1", "通知0"]
    # A permission the key was not given: refused, in the one error shape.
    with pytest.raises(example.ApiError) as forbidden:
        list(api.pages("/org/clients", limit=1))
    assert forbidden.value.status == 403
