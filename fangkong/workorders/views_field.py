"""The field app: 我的任务, one task with its result form, and the inbox.

Built for a phone on a weak network: server-rendered, htmx swaps small fragments, every
page well under 50 KB of HTML. A result carries a client-generated id, so a retried or
double-tapped submit finds the result it already made.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from fangkong.accounts.models import User
from fangkong.notify.models import Notice
from fangkong.org.access import assignee_or, signed_in
from fangkong.org.pii import audit_unmasking
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.workorders import photos, selectors, services
from fangkong.workorders.forms import ManageForm
from fangkong.workorders.kinds import get_kind
from fangkong.workorders.models import Status, WorkOrderPhoto


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@require_GET
@signed_in
def my_tasks(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab", "today")
    if tab not in selectors.TABS:
        tab = "today"
    now = timezone.now()
    context = {
        "tab": tab,
        "counts": selectors.my_counts(_user(request), now),
        "orders": selectors.my_orders(_user(request), tab, now),
        "now": now,
    }
    template = "workorders/my_tasks.html#tab" if request.htmx else "workorders/my_tasks.html"  # type: ignore[attr-defined]
    return render(request, template, context)


def _task_context(request: HttpRequest, order: Any, **extra: Any) -> dict[str, Any]:
    user = _user(request)
    kind = get_kind(order.kind)
    path = order.jurisdiction.path
    values, errors = extra.get("values", {}), extra.get("errors", {})
    fields = [
        {"f": f, "name": f"r_{f.key}", "value": values.get(f.key, ""),
         "error": errors.get(f.key, "")}
        for f in kind.fields
    ]  # fmt: skip
    return {
        "fields": fields,
        "order": order,
        "kind": kind,
        "card": selectors.subject_card(order),
        "is_mine": order.assignee_id == user.pk,
        "overdue": order.is_open and order.due_at < timezone.now(),
        "can_manage": has_perm(user, Perm.ORDERS_DISPATCH, path),
        "history": selectors.order_history(order),
        "client_id": uuid.uuid4(),
        "photos": photos.photos_of(order),
        "can_add_photo": order.assignee_id == user.pk and order.status in photos.PHOTO_STATUSES,
        "photo_client_id": uuid.uuid4(),
        "max_photos": photos.MAX_PER_ORDER,
        "form_url": reverse(kind.form_url, args=[order.pk]) if kind.form_url else "",
        "values": {},
        "errors": {},
        "manage_form": ManageForm(initial={"version": order.version}),
    } | extra


@require_GET
@assignee_or(Perm.ORDERS_VIEW)
def task_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = selectors.order_for(_user(request), order_id)
    return render(request, "workorders/task.html", _task_context(request, order))


@require_POST
@assignee_or(None, writes=("POST",))
def task_result(request: HttpRequest, order_id: int) -> HttpResponse:
    user = _user(request)
    order = selectors.order_for(user, order_id)
    if order.assignee_id != user.pk:
        raise PermissionDenied
    kind = get_kind(order.kind)
    values = {f.key: request.POST.get(f"r_{f.key}", "") for f in kind.fields}
    try:
        client_id = uuid.UUID(request.POST.get("client_id", ""))
        version = int(request.POST.get("version", ""))
        lat = _float(request.POST.get("lat"))
        lng = _float(request.POST.get("lng"))
    except ValueError:
        return HttpResponse(_("The form is incomplete; reload the page."), status=400)
    try:
        order, _created = services.order_complete(
            order_id=order.pk, actor=user, result=values, client_id=client_id,
            expected_version=version, lat=lat, lng=lng,
        )  # fmt: skip
    except ValidationError as e:
        context = _task_context(request, order, values=values, client_id=client_id,
                                errors=_errors(e))  # fmt: skip
        return render(request, "workorders/task.html#work", context, status=400)
    except services.Conflict as e:
        context = _task_context(request, selectors.order_for(user, order_id), conflict=str(e))
        return render(request, "workorders/task.html#work", context, status=409)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "workorders/task.html#work",
                      _task_context(request, order, just_done=True))  # fmt: skip
    return redirect("workorders:task", order_id=order.pk)


def _float(raw: str | None) -> float | None:
    return float(raw) if raw not in (None, "") else None


def _errors(e: ValidationError) -> dict[str, str]:
    if hasattr(e, "error_dict"):
        return {k: " ".join(m for err in v for m in err.messages) for k, v in e.error_dict.items()}
    return {"__all__": " ".join(e.messages)}


@require_POST
@assignee_or(Perm.ORDERS_VIEW, writes=("POST",))
def task_act(request: HttpRequest, order_id: int) -> HttpResponse:
    """Accept, start or comment on a task."""
    user = _user(request)
    order = selectors.order_for(user, order_id)
    action = request.POST.get("action", "")
    try:
        version = int(request.POST.get("version", order.version))
        if action == "accept":
            services.order_accept(order_id=order.pk, actor=user, expected_version=version)
        elif action == "start":
            services.order_start(order_id=order.pk, actor=user, expected_version=version)
        elif action == "comment":
            services.order_comment(order_id=order.pk, actor=user,
                                   text=request.POST.get("text", ""))  # fmt: skip
        else:
            return HttpResponse(_("Unknown action."), status=400)
    except (ValidationError, services.Conflict, ValueError) as e:
        message = " ".join(e.messages) if isinstance(e, ValidationError) else str(e)
        context = _task_context(request, selectors.order_for(user, order_id), conflict=message)
        return render(request, "workorders/task.html", context, status=409)
    return redirect("workorders:task", order_id=order.pk)


@require_POST
@assignee_or(None, writes=("POST",))
def task_photo_add(request: HttpRequest, order_id: int) -> HttpResponse:
    """One photo per request, each with its own client id: on a weak network a photo
    that failed is sent again alone, and a retried one is not stored twice."""
    user = _user(request)
    order = selectors.order_for(user, order_id)
    if order.assignee_id != user.pk:
        raise PermissionDenied
    try:
        client_id = uuid.UUID(request.POST.get("client_id", ""))
    except ValueError:
        return HttpResponse(_("The form is incomplete; reload the page."), status=400)
    upload = request.FILES.get("photo")
    error = ""
    if upload is None:
        error = _("Choose a photo first.")
    elif (upload.size or 0) > photos.MAX_UPLOAD_BYTES:
        error = _("The photo is larger than %(mb)d MB.") % {"mb": photos.MAX_UPLOAD_BYTES >> 20}
    else:
        try:
            photos.photo_add(order_id=order.pk, actor=user, raw=upload.read(),
                             client_id=client_id)  # fmt: skip
        except ValidationError as e:
            error = " ".join(e.messages)
        except services.Conflict as e:
            error = str(e)
    if not error and not request.htmx:  # type: ignore[attr-defined]
        return redirect("workorders:task", order_id=order.pk)
    context = _task_context(request, selectors.order_for(user, order_id), photo_error=error)
    template = "workorders/task.html#photos" if request.htmx else "workorders/task.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=400 if error else 200)


@require_GET
@assignee_or(Perm.ORDERS_VIEW)
def task_photo(request: HttpRequest, photo_id: int) -> HttpResponse:
    """A photo, to whoever may see its order (404 otherwise, as for the order)."""
    order_id = WorkOrderPhoto.objects.filter(pk=photo_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise Http404
    selectors.order_for(_user(request), order_id)
    data = WorkOrderPhoto.objects.values_list("data", flat=True).get(pk=photo_id)
    response = HttpResponse(bytes(data), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


class TelRedirect(HttpResponseRedirect):
    allowed_schemes = ["tel"]


@require_POST
@assignee_or(Perm.PII_UNMASK, writes=("POST",))
def task_call(request: HttpRequest, order_id: int) -> HttpResponse:
    """One tap to call the subject: the number never sits in the page; using it is
    audited like any unmasking, with the order as the purpose."""
    user = _user(request)
    order = selectors.order_for(user, order_id)
    path = order.jurisdiction.path
    if order.assignee_id != user.pk and not has_perm(user, Perm.PII_UNMASK, path):
        raise PermissionDenied
    phone = selectors.subject_phone(order)
    if not phone or order.status not in (Status.ASSIGNED, Status.ACCEPTED, Status.IN_PROGRESS):
        raise Http404
    audit_unmasking(request, obj=order, name=order.subject_label, path=path,
                    purpose=_("Call for work order #%(id)d") % {"id": order.pk},
                    fields=["phone"], via="call")  # fmt: skip
    return TelRedirect(f"tel:{phone}")


@require_GET
@signed_in
def inbox(request: HttpRequest) -> HttpResponse:
    notices = list(Notice.objects.filter(user=_user(request))[:50])
    Notice.objects.filter(user=_user(request), read_at__isnull=True).update(read_at=timezone.now())
    return render(request, "workorders/inbox.html", {"notices": notices})
