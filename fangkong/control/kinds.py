"""The work-order kinds control registers: sampling on a test day, a visit for a missed
health check, and the urgent visit after a fever."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from fangkong.workorders.kinds import OrderKind, ResultField, register

SAMPLE_KIND = "control_sample"
MISSED_CHECK_KIND = "control_missed_check"
FEVER_KIND = "control_fever"

SAMPLE_RESULTS = (
    ("negative", gettext_lazy("Negative")),
    ("positive", gettext_lazy("Positive")),
    ("pending", gettext_lazy("Sampled, result pending")),
)


def register_kinds() -> None:
    register(
        OrderKind(
            SAMPLE_KIND,
            gettext_lazy("Sampling on a test day"),
            (
                ResultField(
                    "result", gettext_lazy("Result"), "choice", SAMPLE_RESULTS, required=True
                ),
                ResultField("tube", gettext_lazy("Tube number"), "text", max_length=40),
                ResultField("note", gettext_lazy("Note"), "text"),
            ),
            due_hours=12,
            on_done="fangkong.control.services.sample_done",
            # Each test day of a person is its own sampling.
            repeatable=True,
        )
    )
    register(
        OrderKind(
            MISSED_CHECK_KIND,
            gettext_lazy("Health check missed: visit"),
            (
                ResultField("seen", gettext_lazy("Person seen and well"), "bool"),
                ResultField("note", gettext_lazy("Note"), "text"),
            ),
            due_hours=2,
        )
    )
    register(
        OrderKind(
            FEVER_KIND,
            gettext_lazy("Fever or symptoms: see the person now"),
            (
                ResultField("seen", gettext_lazy("Seen by the medical group"), "bool"),
                ResultField("note", gettext_lazy("Note"), "text"),
            ),
            due_hours=1,
            repeatable=True,
        )
    )
