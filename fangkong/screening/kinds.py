"""The work-order kinds screening registers."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from fangkong.policy.models import Place
from fangkong.workorders.kinds import OrderKind, ResultField, register

VERIFY_OUTCOMES = (
    ("found_controlled", gettext_lazy("Found, measure in place")),
    ("found_not_applicable", gettext_lazy("Found, measure not applicable")),
    ("not_in_town", gettext_lazy("Not in town")),
    ("wrong_info", gettext_lazy("Wrong information")),
)
# A returnee's report and a pushed list's row are verified alike.
_VERIFY_FIELDS = (
    ResultField("outcome", gettext_lazy("Outcome"), "choice", VERIFY_OUTCOMES, required=True),
    ResultField(
        "measure", gettext_lazy("Measure taken"), "choice", tuple((p.value, p.label) for p in Place)
    ),
    ResultField("where", gettext_lazy("Where now (if not in town)"), "text", max_length=100),
    ResultField("note", gettext_lazy("Note"), "text"),
)


def register_kinds() -> None:
    register(
        OrderKind(
            "verify_returnee",
            gettext_lazy("Verify a returnee"),
            _VERIFY_FIELDS,
            due_hours=2,
            on_done="fangkong.screening.services.returnee_verified",
        )
    )
    register(
        OrderKind(
            "verify_pushed",
            gettext_lazy("Verify a person on a pushed list"),
            _VERIFY_FIELDS,
            due_hours=24,
            on_done="fangkong.screening.pushed.pushed_verified",
        )
    )
    register_sweep_kind()


def register_sweep_kind() -> None:
    from fangkong.workorders.kinds import FollowUp

    outcomes = (
        ("visited", gettext_lazy("Visited, everyone seen")),
        ("nobody_home", gettext_lazy("Nobody home")),
        ("refused", gettext_lazy("Refused to open")),
    )
    register(
        OrderKind(
            "sweep_visit",
            gettext_lazy("Door-knocking visit"),
            (
                ResultField("outcome", gettext_lazy("Outcome"), "choice", outcomes, required=True),
                ResultField("persons_seen", gettext_lazy("Persons seen"), "int", max_value=999),
                ResultField("note", gettext_lazy("Note"), "text"),
            ),
            due_hours=48,
            # "Nobody home" queues another visit of the same sweep the next day.
            follow_ups=(FollowUp("outcome", "nobody_home", "sweep_visit", 24),),
            on_done="fangkong.screening.sweeps.sweep_visit_done",
            form_url="screening:sweep_visit",
            # The sweep's visit asks all a plain visit asks, per member: it takes over a
            # plain visit still open for the household. Each sweep has its own visit.
            replaces=("visit_household", "revisit_household"),
            repeatable=True,
        )
    )
