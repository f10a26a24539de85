"""The demo town's household services around its sealed building: the village's store
stocked by a donation and a purchase (the meal list's lunches among them), the
vulnerable people of the village on the register with their nearest staff member as
contact person (elders living alone on the meal list), today's daily checks of those in
the sealed or controlled zones, and one lunch handed out. Deterministic."""

from __future__ import annotations

import uuid

from django.db.models import Exists, OuterRef
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.assist.care import care_checks_open, care_set, meal_issue
from fangkong.assist.models import GreenTag
from fangkong.assist.models_care import CareEntry, Meal
from fangkong.assist.models_supplies import Item, Move, Package, Receipt, Stock, Store
from fangkong.assist.supplies import receive, store_create
from fangkong.org.models import Jurisdiction, Level, Membership
from fangkong.org.roles import Perm, permissions_for
from fangkong.org.scoping import ancestor_paths, subtree_q
from fangkong.people.models import Person, PersonTag, Tag
from fangkong.zones.models import Zone, ZoneStatus

# At most this many people of the village on the demo's register.
REGISTER_SIZE = 40
NS = uuid.UUID("6f1e3c52-7d4a-4d36-9b55-2f0b6a0d1e18")


def _contact(person: Person) -> User | None:
    """The staff member closest to the person holding assist.enter there."""
    best: tuple[int, str, User] | None = None
    for m in Membership.objects.filter(
        jurisdiction__path__in=ancestor_paths(person.jurisdiction.path), user__is_active=True
    ).select_related("user", "jurisdiction"):
        if Perm.ASSIST_ENTER not in permissions_for(m.role):
            continue
        key = (-len(m.jurisdiction.path), m.user.username, m.user)
        if best is None or key[:2] < best[:2]:
            best = key
    return best[2] if best else None


def build_demo_care(path: str) -> dict[str, int]:
    commander = User.objects.filter(username="commander").first()
    zone = (
        Zone.objects.filter(subtree_q("jurisdiction__path", path), status=ZoneStatus.ACTIVE)
        .select_related("jurisdiction")
        .order_by("-kind__rank", "id")
        .first()
    )
    if commander is None or zone is None:
        return {}
    village = next(
        (
            j
            for j in Jurisdiction.objects.filter(
                path__in=ancestor_paths(zone.jurisdiction.path), level=Level.VILLAGE
            )
        ),
        None,
    )
    if village is None or Store.objects.filter(jurisdiction=village).exists():
        return {}
    store = store_create(actor=commander, jurisdiction=village, name=f"{village.name}物资仓")
    items = {i.code: i for i in Item.objects.all()}
    stock = [("rice", 60), ("vegetables", 60), ("masks", 200), ("disinfectant", 30)]
    receive(
        actor=commander,
        store=store,
        kind="donation",
        donor="嘉兴市慈善总会",
        lines=[(items[c], n) for c, n in stock if c in items],
        client_id=uuid.uuid5(NS, f"donation:{store.pk}"),
    )
    if "lunch" in items:
        receive(
            actor=commander,
            store=store,
            kind="purchase",
            donor="镇中心食堂",
            lines=[(items["lunch"], 60)],
            client_id=uuid.uuid5(NS, f"lunch:{store.pk}"),
        )
    tags = list(GreenTag.objects.values_list("tag", flat=True))
    people = list(
        Person.objects.filter(subtree_q("jurisdiction__path", village.path))
        .filter(Exists(PersonTag.objects.filter(person=OuterRef("pk"), tag__in=tags)))
        .select_related("jurisdiction")
        .order_by("id")[:REGISTER_SIZE]
    )
    alone = set(
        PersonTag.objects.filter(
            person__in=[p.pk for p in people], tag=Tag.LIVING_ALONE
        ).values_list("person_id", flat=True)
    )
    entries = 0
    for person in people:
        contact = _contact(person)
        needs = "独居，每日送餐" if person.pk in alone else ""
        care_set(
            actor=commander,
            person=person,
            contact=contact,
            needs=needs,
            meals=person.pk in alone,
        )
        entries += 1
    checks = care_checks_open()
    meals = 0
    first = CareEntry.objects.filter(jurisdiction__path__startswith=village.path, meals=True)
    entry = first.order_by("id").first()
    if entry is not None:
        meal_issue(
            actor=commander,
            store=store,
            entry=entry,
            client_id=uuid.uuid5(NS, f"meal:{entry.pk}:{timezone.localdate()}"),
        )
        meals = 1
    return {"register": entries, "checks": checks, "meals": meals}


def delete_care_under(path: str) -> None:
    """Everything assist holds under `path` (the demo's --reset)."""
    from fangkong.assist.models import HelpRequest
    from fangkong.assist.models_care import CareCheck

    within = subtree_q("jurisdiction__path", path)
    stores = Store.objects.filter(within)
    Move.objects.filter(store__in=stores).delete()
    Meal.objects.filter(within).delete()
    CareCheck.objects.filter(within).delete()
    CareEntry.objects.filter(within).delete()
    Package.objects.filter(store__in=stores).delete()
    Receipt.objects.filter(store__in=stores).delete()
    Stock.objects.filter(store__in=stores).delete()
    stores.delete()
    HelpRequest.objects.filter(within).delete()
