"""The policy engine: editions by date, measures by origin and exposure, day counting,
the strictest of several origins, areas lifted or not yet risky, local editions, and
health-code colours. Rules and sources: docs/reference/domain-rules.md §1.4 to §1.7, §3.1.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation

from fangkong.policy import divisions
from fangkong.policy.engine import Exposure, Origin, colour_for, colour_on, decide, edition_for
from fangkong.policy.models import Category, Edition, Measure, Place, RiskArea, RiskLevel

pytestmark = pytest.mark.django_db

LUJIAZUI = "310115005"  # 上海市浦东新区陆家嘴街道
ZHOUJIADU = "310115007"  # 上海市浦东新区周家渡街道, same county
D = date


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _key(edition: Edition | None) -> str | None:
    return edition.key if edition is not None else None


def area(code, level, start, end=None, place=""):
    return RiskArea.objects.create(
        code=code,
        place=place,
        name=divisions.full_name(code) + place,
        level=level,
        effective_from=start,
        effective_to=end,
        source="test",
    )


@pytest.mark.parametrize(
    ("day", "key"),
    [
        (D(2021, 5, 10), None),
        (D(2021, 5, 11), "nat-8"),
        (D(2022, 6, 27), "nat-8"),
        (D(2022, 6, 28), "nat-9"),
        (D(2022, 11, 10), "nat-9"),
        (D(2022, 11, 11), "nat-20"),
        (D(2023, 1, 7), "nat-20"),
        (D(2023, 1, 8), None),
    ],
)
def test_the_edition_in_force_changes_on_its_first_day(day, key):
    edition = edition_for(day)
    assert (edition.key if edition else None) == key


def test_no_rules_before_the_8th_edition_is_said_so():
    decision = decide(D(2021, 1, 5), [Origin(LUJIAZUI, D(2021, 1, 4))])
    assert decision.edition is None and decision.category == ""
    assert "No control rules were in force on Jan. 5, 2021" in decision.reason


def test_an_arrival_from_a_high_risk_street_is_isolated_and_the_reason_says_why():
    area(LUJIAZUI, RiskLevel.HIGH, D(2022, 7, 1))
    decision = decide(D(2022, 7, 3), [Origin(LUJIAZUI, D(2022, 7, 2))])
    assert _key(decision.edition) == "nat-9"
    assert decision.category == Category.ARRIVAL_HIGH
    (period,) = decision.periods
    # Day 1 is the day after leaving; 7 days; tests on days 1, 2, 3, 5, 7.
    assert (period.place, period.start, period.end) == ("central", D(2022, 7, 3), D(2022, 7, 9))
    assert period.test_dates == (
        D(2022, 7, 3),
        D(2022, 7, 4),
        D(2022, 7, 5),
        D(2022, 7, 7),
        D(2022, 7, 9),
    )
    for part in (
        "上海市浦东新区陆家嘴街道",
        "Left",
        "July 2, 2022",
        "has been High risk since July 1, 2022",
        "第九版",
        "Centralised isolation 7 days",
        "tests on days 1, 2, 3, 5, 7",
    ):
        assert part in decision.reason, (part, decision.reason)


def test_time_spent_elsewhere_counts_toward_the_period():
    # 填平补齐: left on 07-01, arrived on 07-04; the 7 days run 07-02 to 07-08.
    area(LUJIAZUI, RiskLevel.HIGH, D(2022, 7, 1))
    decision = decide(D(2022, 7, 4), [Origin(LUJIAZUI, D(2022, 7, 1))])
    assert (decision.periods[0].start, decision.end) == (D(2022, 7, 2), D(2022, 7, 8))


def test_the_strictest_of_several_origins_wins():
    area(LUJIAZUI, RiskLevel.MEDIUM, D(2022, 7, 1))
    area("440305", RiskLevel.HIGH, D(2022, 7, 1))  # 深圳市南山区, whole district
    origins = [Origin(LUJIAZUI, D(2022, 7, 3)), Origin("440305012", D(2022, 7, 2))]
    decision = decide(D(2022, 7, 4), origins)
    assert decision.category == Category.ARRIVAL_HIGH and decision.place == Place.CENTRAL
    assert [f.category for f in decision.findings] == ["arrival_medium", "arrival_high"]
    assert "strictest of the 2 places" in decision.reason
    assert "南山区" in decision.reason
    # Order does not matter.
    assert decide(D(2022, 7, 4), origins[::-1]).category == Category.ARRIVAL_HIGH


def test_an_area_lifted_before_the_departure_is_not_a_risk_origin():
    area(LUJIAZUI, RiskLevel.HIGH, D(2022, 7, 1), end=D(2022, 7, 10))
    decision = decide(D(2022, 7, 12), [Origin(LUJIAZUI, D(2022, 7, 11))])
    assert decision.category == Category.RETURNEE and decision.place == Place.NONE
    assert "had been lifted on July 10, 2022" in decision.reason
    # Leaving on the last risky day still counts.
    assert decide(D(2022, 7, 12), [Origin(LUJIAZUI, D(2022, 7, 9))]).category == "arrival_high"


def test_leaving_before_an_area_became_risky_is_not_an_arrival_from_it():
    area(LUJIAZUI, RiskLevel.HIGH, D(2022, 7, 5))
    decision = decide(D(2022, 7, 6), [Origin(LUJIAZUI, D(2022, 7, 4))])
    assert decision.category == Category.RETURNEE
    assert "only became High risk on July 5, 2022, after they left" in decision.reason


def test_a_departure_outside_the_edition_s_window_calls_for_no_area_measure():
    area(LUJIAZUI, RiskLevel.HIGH, D(2022, 7, 1))
    inside = decide(D(2022, 7, 9), [Origin(LUJIAZUI, D(2022, 7, 2))])  # 7 days
    outside = decide(D(2022, 7, 10), [Origin(LUJIAZUI, D(2022, 7, 2))])  # 8 days
    assert inside.category == Category.ARRIVAL_HIGH
    assert outside.category == Category.RETURNEE and "no longer counts" in outside.reason


def test_the_rest_of_a_county_with_a_high_risk_area_is_low_risk():
    area(LUJIAZUI, RiskLevel.HIGH, D(2022, 7, 1))
    decision = decide(D(2022, 7, 5), [Origin(ZHOUJIADU, D(2022, 7, 4))])
    assert decision.category == Category.ARRIVAL_LOW
    (period,) = decision.periods
    # 三天两检 runs from the arrival.
    assert (period.place, period.start, period.end) == ("tests_only", D(2022, 7, 5), D(2022, 7, 7))
    assert "2 tests within 3 days, at least 24 hours apart" in decision.reason
    assert "low-risk" in decision.reason
    # A town elsewhere is no risk at all.
    assert decide(D(2022, 7, 5), [Origin("330411102", D(2022, 7, 4))]).category == "returnee"


def test_a_named_compound_covers_only_that_compound():
    area(LUJIAZUI, RiskLevel.HIGH, D(2022, 7, 1), place="某某花园")
    inside = decide(D(2022, 7, 3), [Origin(LUJIAZUI, D(2022, 7, 2), place="某某花园3号楼")])
    next_door = decide(D(2022, 7, 3), [Origin(LUJIAZUI, D(2022, 7, 2), place="东方小区")])
    assert inside.category == Category.ARRIVAL_HIGH
    assert next_door.category == Category.ARRIVAL_LOW  # the rest of the county


def test_the_20_measures_no_longer_manage_medium_areas_or_secondary_contacts():
    area(LUJIAZUI, RiskLevel.MEDIUM, D(2022, 11, 1))
    decision = decide(D(2022, 11, 15), [Origin(LUJIAZUI, D(2022, 11, 14))])
    assert _key(decision.edition) == "nat-20"
    assert decision.category == Category.RETURNEE
    assert "does not manage" in decision.reason and "取消中风险区" in decision.reason
    secondary = decide(D(2022, 11, 15), exposures=[Exposure("secondary_contact", D(2022, 11, 14))])
    assert secondary.category == Category.RETURNEE and secondary.place == Place.NONE


def test_a_close_contact_under_each_edition():
    last = {"nat-8": D(2022, 3, 1), "nat-9": D(2022, 8, 1), "nat-20": D(2022, 12, 1)}
    expected = {
        "nat-8": [("central", 14), ("home_monitoring", 7)],
        "nat-9": [("central", 7), ("home_monitoring", 3)],
        "nat-20": [("central", 5), ("home_isolation", 3)],
    }
    for key, day in last.items():
        decision = decide(day, exposures=[Exposure("close_contact", day)])
        assert _key(decision.edition) == key
        assert [(p.place, p.days) for p in decision.periods] == expected[key]
        assert decision.periods[0].start == D(day.year, day.month, 2)  # the day after
    # 20 measures: home tests on days 1 and 3 of the second period.
    d20 = decide(D(2022, 12, 1), exposures=[Exposure("close_contact", D(2022, 12, 1))])
    assert d20.periods[1].test_dates == (D(2022, 12, 7), D(2022, 12, 9))


def test_an_exposure_is_weighed_against_the_travel():
    area(LUJIAZUI, RiskLevel.MEDIUM, D(2022, 7, 1))
    decision = decide(
        D(2022, 7, 4), [Origin(LUJIAZUI, D(2022, 7, 3))], [Exposure("close_contact", D(2022, 7, 2))]
    )
    assert decision.category == Category.CLOSE_CONTACT
    assert [p.days for p in decision.periods] == [7, 3]


def _local_copy(world, **changes):
    nat9 = Edition.objects.get(key="nat-9")
    local = Edition.objects.create(
        key="local-a",
        name="四喜社区细则",
        effective_from=D(2022, 7, 1),
        effective_to=D(2022, 11, 11),
        scope=world.nodes["A"],
        based_on=nat9,
        contact_lookback_days=4,
        arrival_window_days=nat9.arrival_window_days,
        **changes,
    )
    for m in nat9.measures.all():
        m.pk, m.edition = None, local
        m.save()
    return local


def test_a_local_edition_wins_inside_its_scope_only(world):
    local = _local_copy(world)
    Measure.objects.filter(edition=local, category="arrival_medium").update(place="central")
    area(LUJIAZUI, RiskLevel.MEDIUM, D(2022, 7, 1))
    origin = [Origin(LUJIAZUI, D(2022, 7, 2))]
    inside = decide(D(2022, 7, 3), origin, path=world.nodes["A1"].path)
    outside = decide(D(2022, 7, 3), origin, path=world.nodes["B1"].path)
    assert inside.edition == local and inside.place == Place.CENTRAL
    assert "四喜社区细则" in inside.reason
    assert _key(outside.edition) == "nat-9" and outside.place == Place.HOME_ISOLATION
    # Before the local edition starts, the national one applies there too.
    assert _key(edition_for(D(2022, 6, 30), world.nodes["A1"].path)) == "nat-9"


def test_day_one_and_a_longer_window_are_the_edition_s_to_set(world):
    _local_copy(world, day_one="same_day")
    Edition.objects.filter(key="local-a").update(arrival_window_days=10)
    area(LUJIAZUI, RiskLevel.HIGH, D(2022, 7, 1))
    path = world.nodes["A1"].path
    same_day = decide(D(2022, 7, 3), [Origin(LUJIAZUI, D(2022, 7, 2))], path=path)
    assert (same_day.periods[0].start, same_day.end) == (D(2022, 7, 2), D(2022, 7, 8))
    # Within the 10-day window but the 7 days are already over on arrival.
    late = decide(D(2022, 7, 11), [Origin(LUJIAZUI, D(2022, 7, 2))], path=path)
    assert late.place == Place.NONE and "ended on July 8, 2022, before the arrival" in late.reason


def test_health_code_colours_follow_the_phase_and_the_most_severe_rule():
    decision = decide(D(2022, 8, 1), exposures=[Exposure("close_contact", D(2022, 8, 1))])
    assert colour_on(decision, D(2022, 8, 3))[0] == "red"  # centralised isolation
    assert colour_on(decision, D(2022, 8, 9))[0] == "yellow"  # home health monitoring
    assert colour_on(decision, D(2022, 8, 12))[0] == "green"  # released
    colour, rules = colour_for(["fever", "companion"])
    assert colour == "yellow" and {r.trigger for r in rules} == {"fever", "companion"}
    assert colour_for(["fever", "in_high_area"])[0] == "red"
    assert colour_for([]) == ("green", [])


def test_an_origin_without_a_code_matches_no_area():
    area(LUJIAZUI, RiskLevel.HIGH, D(2022, 7, 1))
    decision = decide(D(2022, 7, 3), [Origin("", D(2022, 7, 2))])
    assert decision.category == Category.RETURNEE and decision.place == Place.NONE
