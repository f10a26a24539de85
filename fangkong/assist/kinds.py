"""The work-order kind a household's request becomes: served at the door, or handed over
to 120 or a hospital (the green channel)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from fangkong.workorders.kinds import OrderKind, ResultField, register

REQUEST_KIND = "assist_request"


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
