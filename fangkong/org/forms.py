from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class UnmaskForm(forms.Form):
    purpose = forms.CharField(
        label=_("Purpose"),
        min_length=4,
        max_length=300,
        help_text=_("Why you need the full value; it is written to the audit log."),
        error_messages={
            "required": _("State the purpose before viewing personal data."),
            "min_length": _("Describe the purpose in at least 4 characters."),
        },
    )


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.xlsx or .csv)"))


class ExportForm(forms.Form):
    purpose = forms.CharField(label=_("Purpose"), min_length=4, max_length=300)
