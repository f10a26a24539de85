"""The work-order kind a plan's step becomes at a live activation: its timer, due at the
activation's time plus the step's minutes, assigned to the step's owner."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from fangkong.workorders.kinds import OrderKind, ResultField, register

STEP_KIND = "response_step"


def register_kinds() -> None:
    register(
        OrderKind(
            STEP_KIND,
            gettext_lazy("An emergency plan's step: do it by its deadline"),
            (ResultField("note", gettext_lazy("Note"), "text"),),
            due_hours=24,
            on_done="fangkong.response.services.step_order_done",
            repeatable=True,
        )
    )
