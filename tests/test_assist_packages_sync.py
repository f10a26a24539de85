"""Packages from a phone's offline queue (ADR 0020's contract): a batch sent twice
records each package once ("already" the second time), a record of a household the
sender may not serve or of a household that had today's package is refused with the
reason and takes nothing, a record handed over days ago or in the future is refused,
and a package given yesterday evening and sent this morning is yesterday's."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from fangkong.assist.models_supplies import Item, Package, Stock
from fangkong.assist.supplies import receive, store_create
from fangkong.policy.models import Edition
from fangkong.zones.models import Place
from fangkong.zones.places import places_derive
from fangkong.zones.services import zones_delineate
from tests.world import ensure_registry
from tests.zones_support import build_compound

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(world):
    commander, cadre = world.users["commander"], world.users["cadre_a"]
    ensure_registry(world)
    compound = build_compound(world)
    places_derive(actor=commander, village=world.nodes["A"])
    zones_delineate(
        actor=commander,
        place=Place.objects.get(name="1栋"),
        reason="病例",
        edition=Edition.objects.get(key="nat-8"),
    )
    store = store_create(actor=cadre, jurisdiction=world.nodes["A"], name="四喜物资仓")
    lines = [(i, 10) for i in Item.objects.filter(per_package__gt=0)]
    receive(actor=cadre, store=store, kind="purchase", lines=lines, client_id=uuid.uuid4())
    return store, compound.households


def test_a_queued_batch_sent_twice_is_recorded_once(world, stocked):
    store, homes = stocked
    client = Client()
    client.force_login(world.users["cadre_a"])
    url = f"/api/v1/assist/supplies/stores/{store.pk}/packages/sync"
    now = timezone.now()
    records = [
        {"client_id": str(uuid.uuid4()), "household_id": homes[0].pk, "given_at": now.isoformat()},
        {"client_id": str(uuid.uuid4()), "household_id": homes[1].pk, "label": "幸福****101室"},
        # The same household again today, another client id: refused.
        {"client_id": str(uuid.uuid4()), "household_id": homes[0].pk},
        # A household of another village: refused, the same answer as a missing one.
        {"client_id": str(uuid.uuid4()), "household_id": world.households["B1"].pk},
        {
            "client_id": str(uuid.uuid4()),
            "household_id": homes[2].pk,
            "given_at": (now - timedelta(days=3)).isoformat(),
        },
    ]
    first = client.post(url, {"records": records}, content_type="application/json")
    assert first.status_code == 200, first.content
    answers = [a["status"] for a in first.json()["answers"]]
    assert answers == ["recorded", "recorded", "refused", "refused", "refused"]
    assert first.json()["recorded"] == 2
    assert all(a["error"] for a in first.json()["answers"][2:])
    assert Package.objects.count() == 2
    rice = Item.objects.get(code="rice")
    left = Stock.objects.get(store=store, item=rice).quantity
    assert left == 10 - 2 * rice.per_package
    again = client.post(url, {"records": records}, content_type="application/json")
    assert [a["status"] for a in again.json()["answers"]] == [
        "already",
        "already",
        "refused",
        "refused",
        "refused",
    ]
    assert (
        Package.objects.count() == 2 and Stock.objects.get(store=store, item=rice).quantity == left
    )


def test_a_package_given_last_evening_is_of_its_day(world, stocked):
    store, homes = stocked
    client = Client()
    client.force_login(world.users["cadre_a"])
    url = f"/api/v1/assist/supplies/stores/{store.pk}/packages/sync"
    evening = timezone.localtime() - timedelta(days=1)
    record = {
        "client_id": str(uuid.uuid4()),
        "household_id": homes[2].pk,
        "given_at": evening.isoformat(),
    }
    answer = client.post(url, {"records": [record]}, content_type="application/json").json()
    assert answer["answers"][0]["status"] == "recorded"
    assert Package.objects.get().day == evening.date()
    # Today's package of the same household is another one.
    today = {"client_id": str(uuid.uuid4()), "household_id": homes[2].pk}
    answer = client.post(url, {"records": [today]}, content_type="application/json").json()
    assert answer["answers"][0]["status"] == "recorded" and Package.objects.count() == 2
    future = {
        "client_id": str(uuid.uuid4()),
        "household_id": homes[1].pk,
        "given_at": (timezone.now() + timedelta(hours=2)).isoformat(),
    }
    answer = client.post(url, {"records": [future]}, content_type="application/json").json()
    assert answer["answers"][0]["status"] == "refused"
    # Someone of another village may not use this store at all.
    other = Client()
    other.force_login(world.users["gw_b1"])
    refused = other.post(url, {"records": [today]}, content_type="application/json")
    assert refused.status_code in (403, 404) and Package.objects.count() == 2


def test_the_store_s_shortage_thresholds_are_set_on_its_page(world, stocked):
    from fangkong.assist.selectors import shortages

    store, _homes = stocked
    cadre = world.users["cadre_a"]
    client = Client()
    client.force_login(cadre)
    url = f"/assist/stores/{store.pk}/alerts/"
    assert client.get(url).status_code == 200
    codes = list(Item.objects.values_list("code", flat=True))
    form = {f"below_{c}": "0" for c in codes}
    bad = client.post(url, {**form, "below_rice": "-3"})
    assert bad.status_code == 200 and not shortages(cadre).exists()
    assert client.post(url, {**form, "below_rice": "20"}).status_code == 302
    (short,) = shortages(cadre)
    assert (short.item.code, short.quantity, short.alert_below) == ("rice", 10, 20)
    other = Client()
    other.force_login(world.users["gw_b1"])
    assert other.get(url).status_code == 404
    assert other.post(url, {**form, "below_rice": "1"}).status_code in (403, 404)
    assert Stock.objects.get(store=store, item__code="rice").alert_below == 20
