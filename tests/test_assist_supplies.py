"""Supplies of 四喜社区's store: a donation and a purchase received, packages handed to
the households of 幸福小区 1栋 (封控区) at the door — the balance follows to the package,
a package sent twice by a retrying phone is one package, a household gets one a day,
nothing goes negative (a package the store cannot fill takes nothing), and a household
in no sealed zone gets none."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from fangkong.assist.models_supplies import Item, Move, Package, Stock
from fangkong.assist.selectors import balances, shortages
from fangkong.assist.supplies import alert_set, package_issue, receive, store_create
from fangkong.policy.models import Edition
from fangkong.zones.models import Place
from fangkong.zones.places import places_derive
from fangkong.zones.services import zones_delineate
from tests.world import ensure_registry
from tests.zones_support import build_compound

pytestmark = pytest.mark.django_db


def _qty(store) -> dict[str, int]:
    return {item.code: q for item, q, _short in balances(store)}


def test_packages_balance_and_never_go_negative(world):
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
    items = {i.code: i for i in Item.objects.all()}
    with pytest.raises(ValidationError) as refused:
        receive(
            actor=cadre,
            store=store,
            kind="donation",
            lines=[(items["rice"], 3)],
            client_id=uuid.uuid4(),
        )
    assert "donor" in refused.value.message_dict
    donation = uuid.uuid4()
    for _ in range(2):  # sent twice
        receive(
            actor=cadre,
            store=store,
            kind="donation",
            donor="嘉兴爱心粮油",
            lines=[(items["rice"], 3), (items["masks"], 10)],
            client_id=donation,
        )
    receive(
        actor=cadre,
        store=store,
        kind="purchase",
        lines=[(items["vegetables"], 2)],
        client_id=uuid.uuid4(),
    )
    assert _qty(store)["rice"] == 3 and _qty(store)["vegetables"] == 2
    # The three households of 1栋 and 2栋: 1栋's two are in the 封控区 and the compound's
    # 管控区; 2栋's in the 管控区.
    homes = compound.households
    first = uuid.uuid4()
    package, new = package_issue(actor=cadre, store=store, household=homes[0], client_id=first)
    again, new_again = package_issue(actor=cadre, store=store, household=homes[0], client_id=first)
    assert new and not new_again and again.pk == package.pk
    with pytest.raises(ValidationError):  # another package the same day
        package_issue(actor=cadre, store=store, household=homes[0], client_id=uuid.uuid4())
    package_issue(actor=cadre, store=store, household=homes[1], client_id=uuid.uuid4())
    assert _qty(store) == {
        "rice": 1,
        "vegetables": 0,
        "masks": 8,
        "disinfectant": 0,
        "medicine": 0,
        "lunch": 0,  # the meal list's, in no package
    }
    # No vegetables left: the third package is refused by item, and takes no rice.
    with pytest.raises(ValidationError) as short:
        package_issue(actor=cadre, store=store, household=homes[2], client_id=uuid.uuid4())
    assert "蔬菜" in str(short.value)
    assert _qty(store)["rice"] == 1 and Package.objects.count() == 2
    # The ledger balances to the package; the database refuses a negative balance too.
    for item in items.values():
        total = sum(Move.objects.filter(store=store, item=item).values_list("delta", flat=True))
        assert total == _qty(store)[item.code]
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(store=store, item=items["rice"]).update(quantity=-1)
    # Tomorrow the first household gets another.
    receive(
        actor=cadre,
        store=store,
        kind="purchase",
        lines=[(items["vegetables"], 5)],
        client_id=uuid.uuid4(),
    )
    package_issue(
        actor=cadre,
        store=store,
        household=homes[0],
        client_id=uuid.uuid4(),
        now=timezone.now() + timedelta(days=1),
    )
    # A household in no zone gets none; the shortage shows.
    with pytest.raises(ValidationError):
        package_issue(
            actor=cadre, store=store, household=world.households["A2"], client_id=uuid.uuid4()
        )
    alert_set(actor=cadre, store=store, item=items["rice"], below=5)
    assert [s.item.code for s in shortages(cadre)] == ["rice"]
    # B1's grid worker may not take from 四喜社区's store.
    with pytest.raises(PermissionDenied):
        package_issue(
            actor=world.users["gw_b1"], store=store, household=homes[2], client_id=uuid.uuid4()
        )


def test_supplies_pages_and_api(world, login):
    import json

    commander = world.users["commander"]
    ensure_registry(world)
    compound = build_compound(world)
    places_derive(actor=commander, village=world.nodes["A"])
    zones_delineate(
        actor=commander,
        place=Place.objects.get(name="1栋"),
        reason="病例",
        edition=Edition.objects.get(key="nat-8"),
    )
    cadre = login("cadre_a")
    response = cadre.post("/assist/stores/new/", {"node": world.nodes["A"].code, "name": "四喜仓"})
    assert response.status_code == 302
    store_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    body = {
        "kind": "donation",
        "donor": "爱心企业",
        "lines": [
            {"item": "rice", "quantity": 5},
            {"item": "vegetables", "quantity": 5},
            {"item": "masks", "quantity": 5},
        ],
        "client_id": str(uuid.uuid4()),
    }
    for _ in range(2):
        response = cadre.post(
            f"/api/v1/assist/supplies/stores/{store_id}/receipts",
            data=json.dumps(body),
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
    stock = {b["item"]: b["quantity"] for b in response.json()["balances"]}
    assert (stock["rice"], stock["vegetables"]) == (5, 5)
    bad = cadre.post(
        f"/api/v1/assist/supplies/stores/{store_id}/receipts",
        data=json.dumps({**body, "lines": [{"item": "gold", "quantity": 1}]}),
        content_type="application/json",
    )
    assert bad.status_code == 422 and "lines" in bad.json()["errors"]
    page = cadre.get(f"/assist/stores/{store_id}/package/").content.decode()
    assert compound.households[0].address in page
    package = {"household_id": compound.households[0].pk, "client_id": str(uuid.uuid4())}
    answers = [
        cadre.post(
            f"/api/v1/assist/supplies/stores/{store_id}/packages",
            data=json.dumps(package),
            content_type="application/json",
        ).json()
        for _ in range(2)
    ]
    assert [a["created"] for a in answers] == [True, False]
    assert Package.objects.count() == 1
    # The grid worker hands out the village's packages to the households of their own
    # grid (at the door, from the village's store), but does not receive stock or set
    # its thresholds; a grid worker of another village sees nothing of the store.
    gw = login("gw_a1")
    store_page = gw.get(f"/assist/stores/{store_id}/").content.decode()
    assert f"/assist/stores/{store_id}/package/" in store_page
    assert f"/assist/stores/{store_id}/receive/" not in store_page
    assert (
        compound.households[1].address
        in gw.get(f"/assist/stores/{store_id}/package/").content.decode()
    )
    handed = gw.post(
        f"/assist/stores/{store_id}/package/",
        {"household": compound.households[1].pk, "client_id": str(uuid.uuid4())},
    )
    assert handed.status_code == 302, handed.content
    assert Package.objects.get(household=compound.households[1]).given_by == world.users["gw_a1"]
    assert gw.post(f"/assist/stores/{store_id}/receive/", {}).status_code == 403
    assert gw.post(f"/assist/stores/{store_id}/alerts/", {}).status_code == 403
    assert login("gw_b1").get(f"/assist/stores/{store_id}/").status_code == 404
    assert login("gw_b1").post(f"/assist/stores/{store_id}/package/", {}).status_code == 404
    assert "四喜仓" in cadre.get("/assist/stores/").content.decode()
