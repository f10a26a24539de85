"""An arrival waiting at the post for centralised isolation is handed to a control
transfer from the post (issue 19): through control's `transfers.transfer_create`, on
the post's page and through the API, once; an arrival not in the registry cannot ride."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from fangkong.checkpoints.services import entry_to_transfer
from fangkong.control.models import Passenger, Transfer
from fangkong.control.sites import site_create
from tests.checkpoints_support import build_checkpoint, log_arrival, rules_in_force
from tests.world import REGISTRY, build_world, ensure_registry

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    world = build_world()
    ensure_registry(world)
    c = build_checkpoint(world)
    rules_in_force("central")
    site = site_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes["T"],
        name="王店隔离酒店",
        kind="hotel",
        rooms=[("101", 1)],
    )
    _address, name, id_number, _phone = REGISTRY["A1M1"]
    entry = log_arrival(world, c, id_number, name)
    assert entry.waiting_transfer and entry.report is not None and entry.report.person
    return world, c, site, entry


def test_handed_to_a_transfer_once(setup) -> None:
    world, c, site, entry = setup
    transfer = entry_to_transfer(
        actor=world.users["commander"],
        entry=entry,
        destination=site,
        vehicle="浙F00001",
        driver="王师傅",
        escort=world.users["cadre_a"],
    )
    assert transfer.pickup == c.post.name and transfer.jurisdiction == world.nodes["T"]
    assert Passenger.objects.get(transfer=transfer).person == entry.report.person
    entry.refresh_from_db()
    assert (entry.waiting_transfer, entry.transfer) == (False, transfer)
    with pytest.raises(ValidationError):  # nobody waits any more
        entry_to_transfer(
            actor=world.users["commander"],
            entry=entry,
            destination=site,
            vehicle="浙F00001",
            driver="王师傅",
            escort=world.users["cadre_a"],
        )
    assert Transfer.objects.count() == 1


def test_an_arrival_not_in_the_registry_cannot_ride(setup) -> None:
    world, c, site, _entry = setup
    stranger = log_arrival(world, c, "110101199003074477", "陆返乡")
    with pytest.raises(ValidationError) as e:
        entry_to_transfer(
            actor=world.users["commander"],
            entry=stranger,
            destination=site,
            vehicle="浙F00001",
            driver="王师傅",
            escort=world.users["cadre_a"],
        )
    assert "entry" in e.value.message_dict
    assert Transfer.objects.count() == 0


def test_the_post_page_hands_over(setup) -> None:
    world, c, site, entry = setup
    client = Client()
    client.force_login(world.users["commander"])
    page = client.get(f"/checkpoints/{c.post.pk}/").content.decode()
    assert "fk-to-transfer" in page
    escort = world.staff["T"]
    sent = client.post(
        f"/checkpoints/{c.post.pk}/to-transfer/",
        {
            "entry": entry.pk,
            "site": site.pk,
            "escort": escort.pk,
            "vehicle": "浙F00001",
            "driver": "王师傅",
        },
    )
    assert sent.status_code == 302
    assert Transfer.objects.get().escort == escort.user
    # The crew logs, but makes no transfer.
    crew = Client()
    crew.force_login(c.crew[0].user)
    assert "fk-to-transfer" not in crew.get(f"/checkpoints/{c.post.pk}/").content.decode()


def test_the_api_hands_over_and_answers_again_with_the_same(setup) -> None:
    world, c, site, entry = setup
    client = Client()
    client.force_login(world.users["commander"])
    body = {
        "entry_id": entry.pk,
        "site_id": site.pk,
        "escort_staff_id": world.staff["T"].pk,
        "vehicle": "浙F00001",
        "driver": "王师傅",
    }
    url = f"/api/v1/checkpoints/posts/{c.post.pk}/transfers"
    first = client.post(url, data=body, content_type="application/json")
    assert first.status_code == 200, first.content
    again = client.post(url, data=body, content_type="application/json")
    assert again.json() == first.json() and Transfer.objects.count() == 1
