"""Forms of the work-order pages (the result form is built from the kind's fields)."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core.forms import bootstrap_widgets
from fangkong.org.roles import Role
from fangkong.workorders.dispatch import STRATEGY_LABELS, Strategy
from fangkong.workorders.kinds import kind_choices
from fangkong.workorders.models import Priority, Status

_BLANK: list[tuple[str, Any]] = [("", "—")]


class DispatchForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=())
    per = forms.ChoiceField(
        label=_("One order per"),
        choices=[("person", _("person")), ("household", _("household"))],
        initial="household",
    )
    strategy = forms.ChoiceField(
        label=_("Assign to"), choices=[(s.value, label) for s, label in STRATEGY_LABELS.items()]
    )
    team = forms.IntegerField(label=_("Team (for “in turn”)"), required=False)
    person = forms.CharField(
        label=_("User name (for “one person”)"), required=False, max_length=150
    )
    due_hours = forms.IntegerField(
        label=_("Due in hours"), min_value=1, max_value=24 * 30, initial=24
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=Priority.choices, coerce=int, initial=Priority.NORMAL
    )
    title = forms.CharField(label=_("Instruction"), max_length=200, required=False)
    batch = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kind_choices()  # type: ignore[attr-defined]

    def due_at(self) -> Any:
        return timezone.now() + timedelta(hours=self.cleaned_data["due_hours"])

    @property
    def strategy_value(self) -> Strategy:
        return Strategy(self.cleaned_data["strategy"])


class OrderFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=(), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[*_BLANK, ("open", _("Open")), ("overdue", _("Overdue")), *Status.choices],
        required=False,
    )
    node = forms.CharField(label=_("Jurisdiction code"), required=False, max_length=40)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = _BLANK + kind_choices()  # type: ignore[attr-defined]


class ManageForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in ("reassign", "cancel", "verify", "return")])
    assignee = forms.CharField(
        label=_("New assignee (user name or phone)"), required=False, max_length=150
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)
    version = forms.IntegerField(widget=forms.HiddenInput)


class RuleForm(forms.Form):
    hours_overdue = forms.DecimalField(
        label=_("Hours overdue"), min_value=0, max_value=720, max_digits=5, decimal_places=2
    )
    notify_role = forms.ChoiceField(label=_("Notify"), choices=Role.choices)


class BaseRuleFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        """Levels climb: each rule waits longer than the one before it."""
        if any(self.errors):
            return
        rows = self.rows()
        if not rows:
            raise forms.ValidationError(_("Keep at least one escalation level."))
        for (hours_a, _r), (hours_b, _s) in pairwise(rows):
            if hours_b <= hours_a:
                raise forms.ValidationError(
                    _("Each level must wait longer than the one before it (%(a)s h, then %(b)s h).")
                    % {"a": hours_a, "b": hours_b}
                )

    def rows(self) -> list[tuple[Any, str]]:
        """(hours, role) of the kept, filled rows, in level order."""
        return [
            (f.cleaned_data["hours_overdue"], f.cleaned_data["notify_role"])
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]


RuleFormSet = forms.formset_factory(
    RuleForm, formset=BaseRuleFormSet, extra=1, can_delete=True, max_num=6, validate_max=True
)

bootstrap_widgets(DispatchForm, OrderFilterForm, ManageForm, RuleForm)
