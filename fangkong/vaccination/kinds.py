"""The work-order kinds vaccination registers: the mobilisation visit to a resident of
60 or more not yet vaccinated, and the ride to the vaccination site."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from fangkong.workorders.kinds import OrderKind, ResultField, register

VISIT_KIND = "vaccination_visit"
TRANSPORT_KIND = "vaccination_transport"
VISIT_OUTCOMES = (
    ("agreed", gettext_lazy("Agreed: book the vaccination")),
    ("transport", gettext_lazy("Agreed, needs transport")),
    ("home", gettext_lazy("Immobile: needs vaccination at home")),
    ("contraindication", gettext_lazy("Contraindication (doctor's word)")),
    ("refused", gettext_lazy("Refused for now")),
    ("away", gettext_lazy("Away")),
)


def register_kinds() -> None:
    register(
        OrderKind(
            VISIT_KIND,
            gettext_lazy("Vaccination: visit a resident of 60 or more"),
            (
                ResultField(
                    "outcome", gettext_lazy("Outcome"), "choice", VISIT_OUTCOMES, required=True
                ),
                ResultField("note", gettext_lazy("Note"), "text"),
            ),
            due_hours=72,
        )
    )
    register(
        OrderKind(
            TRANSPORT_KIND,
            gettext_lazy("Vaccination: take a resident to the vaccination site"),
            (
                ResultField("done", gettext_lazy("Taken and brought back"), "bool", required=True),
                ResultField("note", gettext_lazy("Note"), "text"),
            ),
            due_hours=24,
        )
    )
