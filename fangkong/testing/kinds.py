"""The work-order kind testing registers: the home sampling of a positive pool's member
(上门单管复核). It takes over control's day-1 sampling order of the temporary control
(same subject, the control test), so the grid worker has one order, due within the
round's recall hours."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from fangkong.workorders.kinds import OrderKind, ResultField, register

RECALL_KIND = "testing_recall"
CHASE_KIND = "testing_chase"
CHASE_REASONS = (
    ("sampled", gettext_lazy("Sampled now / elsewhere")),
    ("away", gettext_lazy("Away")),
    ("sick", gettext_lazy("Bedridden or ill: needs door-to-door sampling")),
    ("refused", gettext_lazy("Refused")),
    ("other", gettext_lazy("Other")),
)
# control.kinds.SAMPLE_KIND, named here so testing does not import control's kinds.
CONTROL_SAMPLE_KIND = "control_sample"


def register_kinds() -> None:
    register(
        OrderKind(
            RECALL_KIND,
            gettext_lazy("Pool positive: single sample at home"),
            (
                ResultField(
                    "tube",
                    gettext_lazy("Single tube barcode"),
                    "text",
                    required=True,
                    max_length=40,
                ),
                ResultField("note", gettext_lazy("Note"), "text"),
            ),
            due_hours=2,
            on_done="fangkong.testing.recalls.recall_sampled",
            replaces=(CONTROL_SAMPLE_KIND,),
        )
    )
    register(
        OrderKind(
            CHASE_KIND,
            gettext_lazy("Not tested this round: find out why"),
            (
                ResultField(
                    "reason", gettext_lazy("Reason"), "choice", CHASE_REASONS, required=True
                ),
                ResultField("note", gettext_lazy("Note"), "text"),
            ),
            due_hours=4,
            # Each round's chase is its own order.
            repeatable=True,
        )
    )
