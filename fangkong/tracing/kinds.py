"""The work-order kinds of tracing: find a contact not matched to the registry (their
place on the contact list is due within 4 hours of the case), and put under control a
contact the system could not place (due within 24 hours: the contacts-under-control
target of the golden 24 hours)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from fangkong.workorders.kinds import OrderKind, ResultField, register

FIND_KIND = "tracing_find"
CONTROL_KIND = "tracing_control"


def register_kinds() -> None:
    register(
        OrderKind(
            FIND_KIND,
            gettext_lazy("Find a case's contact"),
            (
                ResultField("reached", gettext_lazy("Reached"), "bool"),
                ResultField("note", gettext_lazy("Note"), "text"),
            ),
            due_hours=4,
            on_done="fangkong.tracing.cases.find_done",
        )
    )
    register(
        OrderKind(
            CONTROL_KIND,
            gettext_lazy("Put a case's contact under control"),
            (ResultField("note", gettext_lazy("Note"), "text"),),
            due_hours=24,
            on_done="fangkong.tracing.cases.find_done",
        )
    )
