"""Periodic testing in the demo town: key-occupation workers of a few employers (a cold
store, an express depot, the market, a hospital), named through `periodic.assignment_set`
from a few days ago, so the overdue list by employer and grid has something to show."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.org.scoping import subtree_q
from fangkong.people.models import Person, PersonStatus
from fangkong.testing import periodic
from fangkong.testing.models_periodic import KeyOccupation, OccupationAssignment
from fangkong.vaccination.selectors import years_ago

EMPLOYERS = (
    ("cold_chain", "浦市冷链仓储有限公司"),
    ("express", "浦市中通快递网点"),
    ("market", "浦市农贸市场"),
    ("medical", "浦市镇卫生院"),
    ("driver", "浦市客运站"),
)


@transaction.atomic
def build_demo_periodic(path: str, *, seed: int = 2022, workers: int = 60) -> int:
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    commander = User.objects.filter(username="commander").first()
    if (
        commander is None
        or OccupationAssignment.objects.filter(subtree_q("jurisdiction__path", path)).exists()
    ):
        return 0
    today = timezone.localdate()
    adults = list(
        Person.objects.filter(
            subtree_q("jurisdiction__path", path),
            status=PersonStatus.PRESENT,
            birth_date__lte=years_ago(today, 20),
            birth_date__gt=years_ago(today, 55),
        )
        .select_related("jurisdiction")
        .order_by("pk")[: workers * 10]
    )
    occupations = {o.key: o for o in KeyOccupation.objects.all()}
    made = 0
    for person in rng.sample(adults, min(workers, len(adults))):
        key, employer = rng.choice(EMPLOYERS)
        if key not in occupations:
            continue
        periodic.assignment_set(
            person=person,
            occupation=occupations[key],
            employer=employer,
            since=today - timedelta(days=rng.randrange(1, 6)),
            actor=commander,
        )
        made += 1
    return made
