"""Matching outside records to the registry: precision, recall and throughput.

Run from the project root::

    DJANGO_SETTINGS_MODULE=fangkong.settings .venv/bin/python -m bench.matching \
        --persons 20000 --records 2000

It uses the database DATABASE_URL points at (migrated), builds a synthetic town of about
`--persons` residents with the demo generator under a code prefix no real division uses
(999902...), derives `--records` outside records from known residents with the noise
listed in NOISE (plus people who are not registered at all), matches them with
`match_records` restricted to the town, reports, and rolls the whole transaction back:
nothing is left behind and existing rows are never modified.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bench.common import Rollback as _Rollback

BENCH_TOWN = "999902101000"

# Noise type -> share of the records. Every derived record carries the resident's name,
# ID, phone (if they have one; children under 14 do not) and the full address with the
# town prefix, and 30% also carry a birth date; then exactly one kind of noise applies,
# plus the background noise below.
NOISE: dict[str, float] = {
    "clean": 0.08,
    "traditional": 0.10,  # name in traditional script (OpenCC s2t)
    "name_typo": 0.10,  # one given-name character replaced by a homophone / look-alike
    "id_swapped": 0.10,  # two ID digits exchanged
    "id_missing": 0.10,
    "id_excel": 0.10,  # half 4.33122E+17, half last three digits zeroed
    "phone_missing": 0.10,
    "phone_other_member": 0.10,  # the phone of another member of the household
    "address_abbrev": 0.08,  # "3组12号" instead of "浦市镇某村 3组 12号"
    "id_phone_missing": 0.04,  # name + birth date + address only
    "not_registered": 0.10,  # true negatives: nobody in the registry is meant
}
# On top of the one noise type: records of the types that keep the ID lose it with this
# probability, and those that keep the phone lose that with this one.
BACKGROUND_ID_MISSING = 0.25
BACKGROUND_PHONE_MISSING = 0.15
# Homophones and look-alikes of the given-name characters the demo uses.
TYPOS = dict(
    zip(
        "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰玉华红梅建国志文辉鹏飞斌宇浩然子涵欣怡梓轩雨桐俊思远晓东海燕春德成永福金凤翠花小龙云珍家豪",
        "玮方那绣瑛民婧莉蔷垒君阳永燕洁鹃韬铭潮侠萍钢贵岚钰桦宏玫健帼智雯晖朋菲彬雨皓冉紫晗新宜子萱语彤骏斯媛小冬亥艳纯得诚勇富锦风萃华晓隆芸真佳浩",
        strict=True,
    )
)


@dataclass
class Resident:
    pk: int
    name: str
    id_number: str
    phone: str
    birth: date | None
    household_id: int
    address: str
    group: str
    number: str


def build_registry(n_persons: int, seed: int, today: date) -> Any:
    """A town of villages and grids, filled by the demo generator; returns the town."""
    from fangkong.org.models import Jurisdiction, Level
    from fangkong.org.services import child_path
    from fangkong.people.demo import build_demo_people

    def make(code: str, name: str, level: int, parent: Jurisdiction | None) -> Jurisdiction:
        node = Jurisdiction(
            code=code, name=name, level=level, parent=parent, path=child_path(parent, code)
        )
        node.save()
        return node

    town = make(BENCH_TOWN, "基准镇", Level.TOWN, None)
    households = max(1, round(n_persons / 3.2))
    villages = max(1, households // 400)
    quotas: dict[int, int] = {}
    names: dict[int, str] = {}
    rng = random.Random(seed)
    for v in range(villages):
        village = make(f"{BENCH_TOWN[:9]}{200 + v:03d}", f"基准{v}村", Level.VILLAGE, town)
        for g in range(4):
            grid = make(f"{village.code}-G{g + 1:02d}", f"{g + 1}网格", Level.GRID, village)
            quotas[grid.pk] = households // (villages * 4) + (rng.random() < 0.5)
            names[grid.pk] = village.name
    build_demo_people(
        quotas=quotas, village_names=names, seed=seed, today=today, progress=lambda _s: None
    )
    return town


def _excel(number: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{float(number[:17] + '0'):.5E}"  # what Excel shows: 4.33122E+17
    return number[:15] + "000"


def _swap(number: str, rng: random.Random) -> str:
    while True:
        i, j = rng.sample(range(17), 2)
        if number[i] != number[j]:
            chars = list(number)
            chars[i], chars[j] = chars[j], chars[i]
            return "".join(chars)


def make_records(
    residents: list[Resident], town_name: str, n: int, seed: int, today: date
) -> list[tuple[str, int | None, Any]]:
    """(noise type, true person id or None, OutsideRecord) for `n` records."""
    import opencc

    from fangkong.core.crypto import blind_index
    from fangkong.core.identity import check_character
    from fangkong.people.demo import FLOAT_REGIONS, _name
    from fangkong.people.matching import OutsideRecord

    s2t = opencc.OpenCC("s2t")
    rng = random.Random(seed)
    by_household: dict[int, list[Resident]] = defaultdict(list)
    for r in residents:
        by_household[r.household_id].append(r)
    registered = {blind_index(r.id_number) for r in residents}
    kinds = list(NOISE)
    sharing = [
        r
        for r in residents
        if r.phone and any(o.pk != r.pk and o.phone for o in by_household[r.household_id])
    ]
    out: list[tuple[str, int | None, Any]] = []
    for kind in rng.choices(kinds, weights=[NOISE[k] for k in kinds], k=n):
        if kind == "not_registered":
            while True:
                birth = today - timedelta(days=rng.randint(18 * 365, 80 * 365))
                body = f"{rng.choice(FLOAT_REGIONS)}{birth:%Y%m%d}{rng.randint(100, 995):03d}"
                number = body + check_character(body)
                if blind_index(number) not in registered:
                    break
            record = OutsideRecord(
                name=_name(rng),
                id_number=number if rng.random() < 0.8 else "",
                phone=f"172{rng.randint(0, 99_999_999):08d}",
                address=f"{town_name}{rng.randint(1, 12)}组{rng.randint(1, 300)}号",
            )
            out.append((kind, None, record))
            continue
        who = rng.choice(residents)
        if kind == "phone_other_member":
            who = rng.choice(sharing) if sharing else who
        name, number, phone = who.name, who.id_number, who.phone
        address = f"{town_name}{who.address.replace(' ', '')}"
        born = ""
        if who.birth and (rng.random() < 0.3 or kind == "id_phone_missing"):
            born = rng.choice(
                (
                    f"{who.birth:%Y-%m-%d}",
                    f"{who.birth:%Y/%m/%d}",
                    f"{who.birth:%Y%m%d}",
                    f"{who.birth:%Y年%m月%d日}",
                )
            )
        if kind == "traditional":
            name = str(s2t.convert(name))
        elif kind == "name_typo":
            given = [i for i, c in enumerate(name) if i > 0 and c in TYPOS]
            if given:
                i = rng.choice(given)
                name = name[:i] + TYPOS[name[i]] + name[i + 1 :]
        elif kind == "id_swapped":
            number = _swap(number, rng)
        elif kind == "id_missing":
            number = ""
        elif kind == "id_excel":
            number = _excel(number, rng)
        elif kind == "phone_missing":
            phone = ""
        elif kind == "phone_other_member":
            others = [o for o in by_household[who.household_id] if o.pk != who.pk and o.phone]
            phone = rng.choice(others).phone if others else ""
        elif kind == "address_abbrev":
            address = f"{who.group}{who.number}" if who.group else who.number
        elif kind == "id_phone_missing":
            number, phone = "", ""
        # Background noise, so that one problem rarely meets a perfect rest of the row.
        if not kind.startswith("id_") and rng.random() < BACKGROUND_ID_MISSING:
            number = ""
        if not kind.startswith(("phone_", "id_phone")) and rng.random() < BACKGROUND_PHONE_MISSING:
            phone = ""
        record = OutsideRecord(
            name=name, id_number=number, phone=phone, address=address, birth_date=born
        )
        out.append((kind, who.pk, record))
    return out


@dataclass
class Tally:
    n: int = 0
    auto_right: int = 0
    auto_wrong: int = 0
    in_top5: int = 0
    candidates: int = 0

    def line(self, label: str, positive: bool) -> str:
        auto = self.auto_right + self.auto_wrong
        precision = f"{self.auto_right / auto:7.1%}" if auto else "      -"
        recall = f"{self.auto_right / self.n:7.1%}" if positive and self.n else "      -"
        top5 = f"{self.in_top5 / self.n:7.1%}" if positive and self.n else "      -"
        mean = self.candidates / self.n if self.n else 0
        return (
            f"{label:22} {self.n:6d} {self.auto_right:6d} {self.auto_wrong:6d} "
            f"{precision} {recall} {top5} {mean:6.2f}"
        )


def run(n_persons: int, n_records: int, seed: int) -> None:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from fangkong.org.models import Jurisdiction
    from fangkong.people import names
    from fangkong.people.matching import best_match, match_records
    from fangkong.people.models import Person

    today = timezone.localdate()
    print(f"database: {connection.vendor} {connection.settings_dict.get('NAME')}")
    if Jurisdiction.objects.filter(code__startswith=BENCH_TOWN[:6]).exists():
        raise SystemExit(f"Codes starting {BENCH_TOWN[:6]} already exist; refusing to run.")
    existing = Person.objects.count()
    try:
        with transaction.atomic():
            start = time.perf_counter()
            town = build_registry(n_persons, seed, today)
            scope = Person.objects.within(town.path)
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Person._meta.db_table}")
            residents = [
                Resident(
                    p.pk,
                    p.name,
                    p.id_number,
                    p.phone,
                    p.birth_date,
                    p.household_id or 0,
                    p.household.address if p.household else "",
                    p.household.village_group if p.household else "",
                    p.household.house_number if p.household else "",
                )
                for p in scope.select_related("household")
            ]
            print(
                f"registry: {len(residents)} persons in the bench town (plus {existing} "
                f"elsewhere, not searched), built in {time.perf_counter() - start:.1f} s"
            )
            rows = make_records(residents, town.name, n_records, seed, today)
            records = [r for _k, _p, r in rows]
            names.name_key.cache_clear()
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                results = match_records(records, persons=scope)
                cold = time.perf_counter() - start
            start = time.perf_counter()
            again = match_records(records, persons=scope)
            warm = time.perf_counter() - start
            if again != results:
                raise RuntimeError("match_records is not deterministic.")
            tallies: dict[str, Tally] = defaultdict(Tally)
            for (kind, truth, _record), found in zip(rows, results, strict=True):
                for t in (tallies[kind], tallies["all registered"] if truth else tallies["_"]):
                    t.n += 1
                    t.candidates += len(found)
                    best = best_match(found)
                    if best is not None and best.person_id == truth:
                        t.auto_right += 1
                    elif best is not None:
                        t.auto_wrong += 1
                    t.in_top5 += any(c.person_id == truth for c in found)
            total = Tally()
            for key in ("all registered", "not_registered"):
                for attr in ("n", "auto_right", "auto_wrong", "in_top5", "candidates"):
                    setattr(total, attr, getattr(total, attr) + getattr(tallies[key], attr))
            print(
                f"records: {len(records)}; match_records: {len(queries)} queries, "
                f"{len(records) / cold:.0f} records/s cold ({cold:.2f} s), "
                f"{len(records) / warm:.0f} records/s warm ({warm:.2f} s)\n"
            )
            print(
                f"{'noise':22} {'n':>6} {'auto✓':>6} {'auto✗':>6} {'prec.':>7} "
                f"{'recall':>7} {'rec@5':>7} {'cands':>6}"
            )
            for kind in NOISE:
                print(tallies[kind].line(kind, positive=kind != "not_registered"))
            print(tallies["all registered"].line("all registered", positive=True))
            auto = total.auto_right + total.auto_wrong
            print(
                f"\noverall auto-match precision {total.auto_right / max(auto, 1):.2%} "
                f"({total.auto_wrong} wrong of {auto}); recall "
                f"{tallies['all registered'].auto_right / tallies['all registered'].n:.2%}; "
                f"recall@5 {tallies['all registered'].in_top5 / tallies['all registered'].n:.2%}"
            )
            why = Counter(
                tuple(c.rules)
                for (kind, truth, _r), found in zip(rows, results, strict=True)
                for c in found[:1]
                if (b := best_match(found)) is not None and b.person_id != truth
            )
            if why:
                print("wrong auto-matches by rules:", dict(why.most_common(5)))
            raise _Rollback
    except _Rollback:
        pass
    left = Person.objects.count()
    print(f"\nrolled back: {left} person rows remain (was {existing}).")
    if left != existing:
        raise RuntimeError("The rollback left rows behind.")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--records", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django

    django.setup()
    run(args.persons, args.records, args.seed)


if __name__ == "__main__":
    main()
