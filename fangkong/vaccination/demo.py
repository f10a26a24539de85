"""Vaccination in the demo town: most residents of 60 and over vaccinated (some boosted),
imported through the vaccination system's path (`services.doses_import`, the same checks
and audit as a real file), a few contraindications, and the rest on the mobilisation
list, one village's list already sent as visits, so the coverage, the list and the
bulletin's counts have something to show."""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.scoping import subtree_q
from fangkong.people.models import Person, PersonStatus
from fangkong.vaccination import services
from fangkong.vaccination.models import Contraindication, Dose
from fangkong.vaccination.selectors import years_ago

PRODUCTS = ("北京科兴", "北京生物", "武汉生物", "智飞龙科马")


@transaction.atomic
def build_demo_vaccination(path: str, *, seed: int = 2022) -> dict[str, int]:
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    commander = User.objects.filter(username="commander").first()
    if commander is None or Dose.objects.filter(subtree_q("jurisdiction__path", path)).exists():
        return {}
    today = timezone.localdate()
    elders = list(
        Person.objects.filter(
            subtree_q("jurisdiction__path", path),
            status=PersonStatus.PRESENT,
            birth_date__lte=years_ago(today, 60),
        ).order_by("pk")
    )
    rows: list[tuple[int, dict[str, str]]] = []
    contra: list[Person] = []
    for person in elders:
        roll = rng.random()
        if roll < 0.03:
            contra.append(person)
            continue
        doses = 0 if roll < 0.15 else 1 if roll < 0.25 else 2 if roll < 0.6 else 3
        first = date(2021, 4, 1) + timedelta(days=rng.randrange(200))
        product = rng.choice(PRODUCTS)
        if not person.id_number:
            continue
        for n in range(1, doses + 1):
            given = min(first + timedelta(days=(n - 1) * rng.randrange(28, 200)), today)
            row = {
                "id_number": person.id_number,
                "number": str(n),
                "given_on": given.isoformat(),
                "product": product,
            }
            rows.append((len(rows) + 2, row))
    plan = services.doses_import(rows=rows, actor=commander, filename="demo.xlsx")
    for person in contra:
        services.contraindication_set(person=person, reason="恶性肿瘤治疗期", actor=commander)
    visits = 0
    village = (
        Jurisdiction.objects.filter(subtree_q("path", path), level=Level.VILLAGE)
        .order_by("path")
        .first()
    )
    if village is not None:
        visits = len(services.mobilise(node=village, actor=commander))
    return {"doses": len(plan.new), "contraindications": len(contra), "visits": visits}


def delete_vaccination_under(path: str) -> None:
    """Everything vaccination holds under `path` (the demo's --reset)."""
    Dose.objects.filter(subtree_q("jurisdiction__path", path)).delete()
    Contraindication.objects.filter(subtree_q("jurisdiction__path", path)).delete()
