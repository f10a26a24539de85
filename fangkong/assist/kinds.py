"""The work-order kinds of assist: a household's request (served at the door, or handed
over to 120 or a hospital: the green channel), and the daily check of a person of the
vulnerable-people register by their contact person."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from fangkong.workorders.kinds import OrderKind, ResultField, register

REQUEST_KIND = "assist_request"
CARE_CHECK_KIND = "assist_care_check"


def register_kinds() -> None:
    register(
        OrderKind(
            REQUEST_KIND,
            gettext_lazy("A household's request: serve it"),
            (
                ResultField("served", gettext_lazy("Served"), "bool"),
                ResultField("note", gettext_lazy("Note"), "text"),
            ),
            # The request's own kind sets the due time (its response target).
            due_hours=4,
            on_done="fangkong.assist.services.request_served",
            repeatable=True,
        )
    )
    register(
        OrderKind(
            CARE_CHECK_KIND,
            gettext_lazy("Daily check of a vulnerable person"),
            (
                ResultField(
                    "outcome",
                    gettext_lazy("How are they?"),
                    "choice",
                    choices=(
                        ("well", gettext_lazy("Well")),
                        ("needs_help", gettext_lazy("Needs help")),
                        ("not_reached", gettext_lazy("Not reached")),
                    ),
                    required=True,
                ),
                ResultField("note", gettext_lazy("Note"), "text"),
            ),
            due_hours=12,
            on_done="fangkong.assist.care.care_check_done",
            # One check a day: each day's is its own subject.
            repeatable=True,
        )
    )
