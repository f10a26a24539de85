"""Work-order kinds of periodic and door-to-door testing: chase a key-occupation worker
overdue for their test, and sample a bedridden, disabled or home-isolated resident at
home (上门采样, the green channel: urgent, before the round's queue)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from fangkong.workorders.kinds import OrderKind, ResultField, register

OVERDUE_KIND = "testing_overdue"
DOORSTEP_KIND = "testing_doorstep"
OVERDUE_REASONS = (
    ("tested", gettext_lazy("Tested now / elsewhere")),
    ("off_duty", gettext_lazy("Off duty or left the job")),
    ("away", gettext_lazy("Away")),
    ("refused", gettext_lazy("Refused")),
    ("other", gettext_lazy("Other")),
)
# The sample itself is recorded on the sampler's page (the one ingest path).
DOORSTEP_OUTCOMES = (
    ("sampled", gettext_lazy("Sampled (recorded on the sampler's page)")),
    ("not_home", gettext_lazy("Not at home")),
    ("refused", gettext_lazy("Refused")),
)


def register_kinds() -> None:
    register(
        OrderKind(
            OVERDUE_KIND,
            gettext_lazy("Key occupation overdue for a test: get them tested"),
            (
                ResultField(
                    "reason", gettext_lazy("Outcome"), "choice", OVERDUE_REASONS, required=True
                ),
                ResultField("note", gettext_lazy("Note"), "text"),
            ),
            due_hours=8,
        )
    )
    register(
        OrderKind(
            DOORSTEP_KIND,
            gettext_lazy("Door-to-door sampling (green channel)"),
            (
                ResultField(
                    "outcome", gettext_lazy("Outcome"), "choice", DOORSTEP_OUTCOMES, required=True
                ),
                ResultField("note", gettext_lazy("Note"), "text"),
            ),
            due_hours=4,
        )
    )
