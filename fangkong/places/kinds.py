"""The work-order kind of places: a rectification order after a finding, due on its
deadline, whose result is the re-inspection (rectified or not, and the penalty)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from fangkong.workorders.kinds import OrderKind, ResultField, register

RECTIFY_KIND = "places_rectify"


def register_kinds() -> None:
    register(
        OrderKind(
            RECTIFY_KIND,
            gettext_lazy("Rectification: re-inspect the place"),
            (
                ResultField("rectified", gettext_lazy("Rectified"), "bool"),
                ResultField(
                    "penalty",
                    gettext_lazy("Penalty"),
                    "choice",
                    choices=(
                        ("none", gettext_lazy("None")),
                        ("warning", gettext_lazy("Warning")),
                        ("fine", gettext_lazy("Fine")),
                        ("closure", gettext_lazy("Closure")),
                    ),
                ),
                ResultField("fine_yuan", gettext_lazy("Fine (yuan)"), "int", max_value=1_000_000),
                ResultField("note", gettext_lazy("Note"), "text"),
            ),
            due_hours=72,
            on_done="fangkong.places.services.reinspection_done",
            repeatable=True,
        )
    )
