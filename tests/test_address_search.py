"""Address search: the indexed way (pg_trgm on PostgreSQL, FTS5 trigram on SQLite) gives
exactly what the plain substring search gives, and the index is really used."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from fangkong.people.address_search import FTS_TABLE, TRIGGERS, address_q, naive
from fangkong.people.models import Household, Person
from fangkong.people.selectors import PersonFilters, person_list
from tests.world import World

pytestmark = pytest.mark.django_db

ADDRESSES = [
    "四喜村 3组 1234号",
    "四喜村 13组 234号",
    "幸福路12号 2单元 301室",
    "幸福路1号",
    "Building B Room 12 Lane",
    "building b room 12",
    "新村 100% 安置房",
    "A_B 小区 5栋",
    'A"B 小区 "引号"',
    "東門街7號",
    "东门街7号",
    "",
]
TERMS = [
    "3组 1234",
    "3组",
    "1234",
    "幸福路1",
    "幸福路12号",
    "Room 12",
    "room 12",
    "ROOM",
    "100%",
    "A_B",
    "_B",
    'A"B',
    '"引号"',
    "東門",
    "东门街",
    "１２３４",  # full width: folded as the page folds it
    "号",
    "1",
    "不存在的地址",
    "OR",
    "NEAR(",
    "*",
]


def _households(world: World) -> list[Household]:
    grid = world.nodes["A2"]
    return [Household.objects.create(jurisdiction=grid, address=a) for a in ADDRESSES]


@pytest.mark.parametrize("term", TERMS)
def test_indexed_search_equals_the_naive_substring_search(world, term):
    _households(world)
    ours = set(Household.objects.filter(address_q(term)).values_list("pk", flat=True))
    plain = set(naive(Household.objects.all(), term).values_list("pk", flat=True))
    assert ours == plain


def test_the_person_list_filter_equals_the_naive_search(world):
    households = _households(world)
    grid = world.nodes["A2"]
    for i, household in enumerate(households):
        Person.objects.create(
            jurisdiction=grid, household=household, name=f"居民{i}", name_key=f"居民{i}"
        )
    commander = world.users["commander"]
    today = timezone.localdate()
    for term in TERMS:
        ours = set(person_list(commander, PersonFilters(address=term), today=today))
        plain = set(naive(Person.objects.filter(jurisdiction=grid), term, prefix="household__"))
        assert ours == plain, term


def test_the_index_follows_inserts_updates_and_deletes(world):
    first, second, *_rest = _households(world)
    term = "3组 1234"
    assert list(Household.objects.filter(address_q(term))) == [first]
    first.address = "南街 9号"
    first.save()
    second.address = "北街 3组 12345号"
    second.save()
    assert list(Household.objects.filter(address_q(term))) == [second]
    Household.objects.filter(pk=second.pk).delete()
    assert not Household.objects.filter(address_q(term)).exists()
    assert not Household.objects.filter(address_q("南街 9")).exclude(pk=first.pk).exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite path")
def test_sqlite_index_and_triggers_exist_after_all_migrations(db):
    # A later migration that makes Django remake people_household on SQLite drops the
    # triggers with the old table: this fails, and that migration must recreate them.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name IN "
            "(%s, %s, %s, %s)",
            [FTS_TABLE, *TRIGGERS],
        )
        assert {row[0] for row in cursor.fetchall()} == {FTS_TABLE, *TRIGGERS}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite path")
def test_sqlite_plan_starts_from_the_fts_index(world):
    _households(world)
    plan = Household.objects.filter(address_q("3组 1234")).explain()
    assert "VIRTUAL TABLE INDEX" in plan and FTS_TABLE in plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL path")
def test_postgresql_plan_uses_the_trigram_index(world):
    _households(world)
    with connection.cursor() as cursor:
        # A dozen rows would be read whole whatever the index; the question is whether
        # the planner can serve the filter from the index at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        # Nor a walk of the address's B-tree with the LIKE as a filter: a bitmap scan
        # needs an index that can answer the condition, which only the trigram one can.
        cursor.execute("SET LOCAL enable_indexscan = off")
    plan = Household.objects.filter(address_q("3组 1234")).explain()
    assert "people_household_address_trgm" in plan
