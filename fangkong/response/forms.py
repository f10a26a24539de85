"""Forms of emergency response: a plan's name and assembly target, a step, the
activation (the triggering event, drill or live), a step done, the level switch."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.core.forms import bootstrap_widgets
from fangkong.org.roles import Role
from fangkong.response.services import (
    ASSEMBLE_MINUTES_MAX,
    EVENT_MAX,
    REASON_MAX,
    STEP_MINUTES_MAX,
    TITLE_MAX,
)


class PlanForm(forms.Form):
    name = forms.CharField(label=_("Plan name"), max_length=120)
    assemble_minutes = forms.IntegerField(
        label=_("Everyone assembles within (minutes)"),
        min_value=1,
        max_value=ASSEMBLE_MINUTES_MAX,
    )


class StepForm(forms.Form):
    step = forms.IntegerField(required=False, widget=forms.HiddenInput)
    title = forms.CharField(label=_("Step"), max_length=TITLE_MAX)
    minutes = forms.IntegerField(
        label=_("Deadline (minutes after activation)"),
        min_value=1,
        max_value=STEP_MINUTES_MAX,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    group = forms.ChoiceField(label=_("Owner group"), required=False)
    role = forms.ChoiceField(label=_("Or owner role"), required=False)

    def __init__(self, *args: Any, groups: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        blank = [("", "—")]
        cast(forms.ChoiceField, self.fields["group"]).choices = blank + groups
        cast(forms.ChoiceField, self.fields["role"]).choices = blank + list(Role.choices)


class ActivateForm(forms.Form):
    event = forms.CharField(
        label=_("Triggering event"),
        max_length=EVENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    drill = forms.BooleanField(label=_("Drill (演练): touch no live data"), required=False)


class LevelForm(forms.Form):
    level = forms.ChoiceField(label=_("Response level"))
    reason = forms.CharField(label=_("Why"), max_length=REASON_MAX)

    def __init__(self, *args: Any, levels: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["level"]).choices = levels


bootstrap_widgets(PlanForm, StepForm, ActivateForm, LevelForm)
