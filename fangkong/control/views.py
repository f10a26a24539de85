"""Control pages (thin: the services decide, the selectors read)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from fangkong.control import checks, release, selectors
from fangkong.control.forms import CheckForm
from fangkong.control.models import OrderStatus
from fangkong.core.masking import mask_name
from fangkong.org.access import public, requires
from fangkong.org.roles import Perm


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


@require_GET
@public
def notice_check(request: HttpRequest, code: str) -> HttpResponse:
    """The release notice's QR code lands here: a masked name, the dates, "released"."""
    shown = release.notice_public(code)
    return render(
        request, "control/notice_check.html", {"notice": shown}, status=200 if shown else 404
    )


@require_GET
@requires(Perm.CONTROL_VIEW)
def notice_download(request: HttpRequest, control_id: int) -> HttpResponse:
    order = selectors.control_order_for_user(request.user, control_id)
    if order.status != OrderStatus.RELEASED:
        raise Http404
    data = release.notice_docx(order, request.build_absolute_uri("/"))
    response = HttpResponse(
        data,
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    response["Content-Disposition"] = f'attachment; filename="release-{order.pk}.docx"'
    return response
