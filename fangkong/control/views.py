"""Control pages (thin: the services decide, the selectors read)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from fangkong.control import checks
from fangkong.control.forms import CheckForm
from fangkong.core.masking import mask_name
from fangkong.org.access import public


@require_http_methods(["GET", "POST"])
@public
def self_check(request: HttpRequest, token: str) -> HttpResponse:
    """The person's own daily check, from the link sent by SMS: large type, nothing but
    their masked name, the day of their period and the form."""
    order = checks.order_for_token(token)
    if order is None:
        return render(request, "control/self_check.html", {"expired": True}, status=404)
    form = CheckForm(request.POST or None)
    context = {
        "form": form,
        "name": mask_name(order.person.name),
        "order": order,
        "day": order.day_number(timezone.localdate()),
    }
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "control/self_check.html", context, status=400)
        try:
            check, _created = checks.check_record(
                order=order,
                temperature=form.cleaned_data["temperature"],
                symptoms=form.cleaned_data["symptoms"],
                note=form.cleaned_data["note"],
                client_id=form.cleaned_data["client_id"],
                actor=None,
                by_self=True,
            )
        except ValidationError as e:
            form.add_error(None, e)
            return render(request, "control/self_check.html", context, status=400)
        context["done"] = check
    return render(request, "control/self_check.html", context)
