"""Synthetic residents for the demo town: households, people, special groups.

ID numbers pass the checksum, date and region checks but are clearly synthetic: every
one uses a sequence code 996-999, which GB 11643 reserves for people over 100, on
people of every age. Phones are in the 171 virtual-operator range. Structure follows a
rural Hunan town: three-generation households, rentals near the market streets,
floating workers in company dormitories, a share of working-age people away for work.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta

from django.db import transaction
from django.db.models import OuterRef, Subquery

from fangkong.core.crypto import blind_index
from fangkong.core.identity import birth_date_of, check_character, county_existed
from fangkong.org.models import Jurisdiction
from fangkong.people.models import (
    Household,
    HousingType,
    Person,
    PersonStatus,
    PersonTag,
    Relationship,
    Residency,
    Sex,
    Tag,
)
from fangkong.people.names import name_initials, name_key
from fangkong.people.services import compose_address, last4_key

HOME_REGIONS = ["433122", "433101", "433123", "433124", "433125", "433126", "433127", "433130"]
# Where floating workers come from: counties in Guizhou, Sichuan, Henan, Guangxi, Jiangxi.
FLOAT_REGIONS = ["522601", "522622", "511025", "510922", "411522", "450921", "360424", "431226"]
SURNAMES = "张王李刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰玉华红梅建国志文辉鹏飞斌宇浩然子涵欣怡梓轩雨桐俊思远晓东海燕春德成永福金凤翠花小龙云秀珍家豪"
STREETS = ["河街", "中正街", "新街", "老街", "太平街", "万寿路", "江东路", "浦阳路", "码头路"]
CITIES = ["长沙", "广州", "深圳", "东莞", "杭州", "上海", "吉首", "怀化", "温州"]
OCCUPATIONS = ["务农", "个体经营", "教师", "工人", "司机", "学生", "退休", "快递员", "医生", "护士"]
SEQ_MALE = ("997", "999")
SEQ_FEMALE = ("996", "998")


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.home = HOME_REGIONS
        self.floating = FLOAT_REGIONS

    def make(self, birth: date, sex: str, floating: bool) -> str:
        regions = self.floating if floating else self.home
        seqs = SEQ_MALE if sex == Sex.MALE else SEQ_FEMALE
        for _ in range(50):
            region = self.rng.choice(regions)
            body = f"{region}{birth:%Y%m%d}{self.rng.choice(seqs)}"
            # A county code is valid only for the years it existed; draw again if not.
            if body not in self.used and county_existed(region, birth.year):
                self.used.add(body)
                return body + check_character(body)
            birth += timedelta(days=1)
        # Past a few hundred thousand people the home counties' codes run out for a
        # birth date; go on through every county code of the province that existed in
        # that year (same synthetic sequence codes), in a fixed order.
        for region in _fallback_regions(birth.year):
            for seq in seqs:
                body = f"{region}{birth:%Y%m%d}{seq}"
                if body not in self.used:
                    self.used.add(body)
                    return body + check_character(body)
        raise RuntimeError("ran out of synthetic ID numbers")


@functools.cache
def _fallback_regions(year: int) -> tuple[str, ...]:
    found = []
    for code in range(430102, 433200):
        region = str(code)
        try:
            if county_existed(region, year):
                found.append(region)
        except (KeyError, ValueError):  # a prefecture's own code has no county entry
            continue
    return tuple(found)


def _name(rng: random.Random, surname: str | None = None) -> str:
    return (surname or rng.choice(SURNAMES)) + "".join(
        rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2)))
    )


def _birth(rng: random.Random, today: date, lo: int, hi: int) -> date:
    return today - timedelta(days=rng.randint(lo * 365, hi * 365 + 364))


class _Plan:
    """People of one household before they are written."""

    def __init__(self) -> None:
        self.members: list[tuple[str, str, date, str, str]] = []  # name, sex, birth, rel, residency


def _household_plan(rng: random.Random, today: date, dormitory: bool) -> _Plan:
    plan = _Plan()
    if dormitory:
        for i in range(rng.randint(8, 20)):
            sex = rng.choice((Sex.MALE, Sex.MALE, Sex.FEMALE))
            rel = Relationship.HEAD if i == 0 else Relationship.OTHER
            plan.members.append(
                (_name(rng), sex, _birth(rng, today, 18, 50), rel, Residency.LIUDONG)
            )
        return plan
    surname = rng.choice(SURNAMES)
    size = rng.choices((1, 2, 3, 4, 5, 6), weights=(14, 24, 24, 20, 12, 6))[0]
    head_sex = rng.choice((Sex.MALE, Sex.MALE, Sex.MALE, Sex.FEMALE))
    head_birth = _birth(rng, today, 25, 90) if size == 1 else _birth(rng, today, 28, 75)
    plan.members.append((_name(rng, surname), head_sex, head_birth, Relationship.HEAD, ""))
    head_age = (today - head_birth).days // 365
    if size >= 2:
        sex = Sex.FEMALE if head_sex == Sex.MALE else Sex.MALE
        plan.members.append(
            (
                _name(rng),
                sex,
                head_birth + timedelta(days=rng.randint(-1500, 1500)),
                Relationship.SPOUSE,
                "",
            )
        )
    for _ in range(max(0, size - 2)):
        if head_age > 55 and rng.random() < 0.5:
            birth = head_birth + timedelta(days=rng.randint(45, 60) * 365)
            rel = Relationship.GRANDCHILD
        elif head_age < 55 and rng.random() < 0.25:
            birth = head_birth - timedelta(days=rng.randint(22, 30) * 365)
            rel = Relationship.PARENT
        else:
            birth = head_birth + timedelta(days=rng.randint(20, 35) * 365)
            rel = Relationship.CHILD
        birth = min(birth, today - timedelta(days=rng.randint(30, 400)))
        plan.members.append(
            (
                _name(rng, surname if rel != Relationship.PARENT else None),
                rng.choice((Sex.MALE, Sex.FEMALE)),
                birth,
                rel,
                "",
            )
        )
    return plan


def _tags(rng: random.Random, age: int, sex: str, alone: bool, occupation: str) -> list[str]:
    tags: list[str] = []
    if alone and age >= 60:
        tags.append(Tag.LIVING_ALONE)
    if age >= 60 and rng.random() < 0.25:
        tags.append(Tag.CHRONIC)
    if age >= 75 and rng.random() < 0.08:
        tags.append(Tag.MOBILITY_IMPAIRED)
    if age >= 60 and rng.random() < 0.01:
        tags.append(Tag.VISUALLY_IMPAIRED)
    if age >= 40 and rng.random() < 0.002:
        tags.append(Tag.DIALYSIS)
    if sex == Sex.FEMALE and 20 <= age <= 40 and rng.random() < 0.03:
        tags.append(Tag.PREGNANT)
    occupation_tags = {
        "快递员": Tag.LOGISTICS_DIRECT,
        "司机": Tag.TRANSPORT,
        "医生": Tag.MEDICAL,
        "护士": Tag.MEDICAL,
    }
    if occupation in occupation_tags:
        tags.append(occupation_tags[occupation])
    return tags


def _occupation(rng: random.Random, age: int) -> str:
    if age < 7:
        return ""
    if age < 19:
        return "学生"
    if age >= 62:
        return rng.choice(("退休", "务农", "务农"))
    return rng.choices(
        OCCUPATIONS[:-3] + OCCUPATIONS[-3:], weights=(30, 12, 4, 20, 6, 2, 1, 3, 1, 1)
    )[0]


def _chunks(
    items: list[Jurisdiction], quotas: dict[int, int]
) -> Iterator[tuple[Jurisdiction, int]]:
    for leaf in items:
        yield leaf, quotas.get(leaf.pk, 0)


@transaction.atomic
def build_demo_people(
    *,
    quotas: dict[int, int],
    village_names: dict[int, str],
    seed: int = 2022,
    today: date,
    progress: Callable[[str], None] = print,
) -> tuple[int, int]:
    """Create households (quota per leaf node id) and their members; returns the counts."""
    rng = random.Random(seed + 1)  # noqa: S311 - synthetic data, not security
    ids = _Ids(rng)
    leaves = list(Jurisdiction.objects.filter(pk__in=quotas).order_by("path"))
    phone_seq = 0
    n_households = n_persons = 0
    batch_h: list[Household] = []
    batch_p: list[tuple[Person, Household, list[str]]] = []

    def flush() -> None:
        # Ids are copied by hand: going through the foreign-key descriptors of objects
        # saved by bulk_create makes Django re-fetch them one query at a time.
        nonlocal batch_h, batch_p
        Household.objects.bulk_create(batch_h, batch_size=2000)
        for person, household, _tags in batch_p:
            person.household_id = household.pk
        Person.objects.bulk_create([p for p, _h, _t in batch_p], batch_size=2000)
        PersonTag.objects.bulk_create(
            [PersonTag(person_id=p.pk, tag=t) for p, _h, tags in batch_p for t in tags],
            batch_size=5000,
        )
        batch_h, batch_p = [], []

    for leaf, quota in _chunks(leaves, quotas):
        village = village_names.get(leaf.pk, "")
        market = rng.random() < 0.3  # market-street leaves have rentals and dormitories
        for h in range(quota):
            dormitory = market and rng.random() < 0.04
            rented = dormitory or (market and rng.random() < 0.3) or rng.random() < 0.05
            plan = _household_plan(rng, today, dormitory)
            group = f"{rng.randint(1, 12)}组"
            street = rng.choice(STREETS) if market else ""
            household = Household(
                jurisdiction_id=leaf.pk,
                village_group="" if market else group,
                street=street,
                house_number=f"{h + 1}号",
                address=compose_address(
                    village=village,
                    village_group="" if market else group,
                    street=street,
                    house_number=f"{h + 1}号",
                ),
                housing_type=HousingType.DORMITORY
                if dormitory
                else HousingType.RENTED
                if rented
                else HousingType.OWNED,
                landlord_name=_name(rng) if rented else "",
            )
            batch_h.append(household)
            n_households += 1
            alone = len(plan.members) == 1
            for name, sex, birth, rel, residency in plan.members:
                age = (today - birth).days // 365
                floating = residency == Residency.LIUDONG or (rented and rng.random() < 0.6)
                number = ids.make(birth, sex, floating)
                phone_seq += 1
                phone = f"171{phone_seq:08d}" if age >= 14 else ""
                occupation = "工人" if dormitory else _occupation(rng, age)
                status = PersonStatus.PRESENT
                away_since, away_where = None, ""
                if 18 <= age <= 50 and not floating and rng.random() < 0.15:
                    status, away_where = PersonStatus.AWAY, rng.choice(CITIES)
                    away_since = today - timedelta(days=rng.randint(10, 900))
                person = Person(
                    jurisdiction_id=leaf.pk,
                    relationship=rel,
                    name=name,
                    name_key=name_key(name),
                    name_initials=name_initials(name),
                    id_number=number,
                    id_number_hash=blind_index(number),
                    id_last4_hash=last4_key(number),
                    sex=sex,
                    birth_date=birth_date_of(number),
                    phone=phone,
                    phone_hash=blind_index(phone) if phone else None,
                    residency=Residency.LIUDONG
                    if floating
                    else (Residency.HUJI if rng.random() < 0.9 else Residency.CHANGZHU),
                    arrival_date=today - timedelta(days=rng.randint(5, 700)) if floating else None,
                    occupation=occupation,
                    workplace="浦市工业园" if dormitory else "",
                    status=status,
                    away_since=away_since,
                    away_where=away_where,
                )
                # Encrypting field values happens in get_prep_value; the clear values are
                # set above and never logged.
                batch_p.append((person, household, _tags(rng, age, sex, alone, occupation)))
                n_persons += 1
        if len(batch_p) >= 10_000:
            flush()
            progress(f"  {n_persons} residents in {n_households} households ...")
    flush()
    # Heads in one statement rather than a row-by-row CASE update.
    Household.objects.filter(head__isnull=True, jurisdiction__in=leaves).update(
        head=Subquery(
            Person.objects.filter(household=OuterRef("pk"), relationship=Relationship.HEAD)
            .order_by("pk")
            .values("pk")[:1]
        )
    )
    return n_households, n_persons


@transaction.atomic
def delete_people_under(path: str) -> None:
    """Remove every household and person under a subtree (the demo reset)."""
    persons = Person.objects.within(path)
    PersonTag.objects.filter(person__in=persons).delete()
    households = Household.objects.within(path)
    households.update(head=None)
    persons.delete()
    households.delete()
