"""The field app: 我的任务, one task with its result form, and the inbox.

Built for a phone on a weak network: server-rendered, htmx swaps small fragments, every
page well under 50 KB of HTML. A result carries a client-generated id, so a retried or
double-tapped submit finds the result it already made.
"""

from __future__ import annotations

import string
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from fangkong.accounts.selectors import request_user
from fangkong.core.memo import render_memo
from fangkong.notify.models import Notice
from fangkong.org.access import assignee_or, signed_in
from fangkong.org.pii import audit_unmasking
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.workorders import photos, selectors, services
from fangkong.workorders.forms import ManageForm
from fangkong.workorders.kinds import get_kind
from fangkong.workorders.models import Status


@require_GET
@signed_in
def my_tasks(request: HttpRequest) -> HttpResponse:
    """Open work in one list: the late orders on top (never behind a tab), then those
    due today, then the rest, 20 to a page; done today on its own tab. Two queries; the
    list itself is rendered once per distinct content (a worker reloads it often)."""
    user, now = request_user(request), timezone.now()
    counts = selectors.task_counts(user, now)
    context: dict[str, Any] = {"counts": counts, "now": now}
    if request.GET.get("tab") == "done":
        orders = selectors.my_orders(user, "done", now)
        context |= {"tab": "done", "orders": orders}
        shown: tuple[Any, ...] = ("done", selectors.task_list_inputs([("done", orders)], now))
    else:
        # An old link to the overdue tab lands here too: those are at the top now.
        page = selectors.task_page(user, now, request.GET.get("page"), counts["open"])
        groups = selectors.grouped(page, now)
        context |= {"tab": "todo", "page": page, "groups": groups}
        shown = (page.number, page.paginator.num_pages, selectors.task_list_inputs(groups, now))
    inputs = (tuple(counts.items()), shown)
    tab = render_memo(request, "workorders/my_tasks.html#tab", context, inputs)
    if request.htmx:  # type: ignore[attr-defined]
        return HttpResponse(tab)
    return render(request, "workorders/my_tasks.html", context | {"tab_html": mark_safe(tab)})  # noqa: S308 - our own rendered template


def _task_context(request: HttpRequest, order: Any, **extra: Any) -> dict[str, Any]:
    user = request_user(request)
    kind = get_kind(order.kind)
    path = order.jurisdiction.path
    values, errors = extra.get("values", {}), extra.get("errors", {})
    fields = [
        {
            "f": f,
            "name": f"r_{f.key}",
            "value": values.get(f.key, ""),
            "error": errors.get(f.key, ""),
        }
        for f in kind.fields
    ]
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
    order = selectors.order_for_user(request_user(request), order_id)
    return render(request, "workorders/task.html", _task_context(request, order))


@require_POST
@assignee_or(None, writes=("POST",))
def task_result(request: HttpRequest, order_id: int) -> HttpResponse:
    user = request_user(request)
    order = selectors.order_for_user(user, order_id, write=selectors.ASSIGNEE)
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
            order_id=order.pk,
            actor=user,
            result=values,
            client_id=client_id,
            expected_version=version,
            lat=lat,
            lng=lng,
        )
    except ValidationError as e:
        context = _task_context(
            request, order, values=values, client_id=client_id, errors=_errors(e)
        )
        return render(request, "workorders/task.html#work", context, status=400)
    except services.Conflict as e:
        context = _task_context(request, selectors.order_for_user(user, order_id), conflict=str(e))
        return render(request, "workorders/task.html#work", context, status=409)
    if request.htmx:  # type: ignore[attr-defined]
        context = _task_context(request, order, just_done=True, history_oob=True)
        return render(request, "workorders/task.html#work", context)
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
    user = request_user(request)
    # Accepting and starting are the assignee's (the services check); a comment is open
    # to whoever sees the order.
    order = selectors.order_for_user(user, order_id)
    action = request.POST.get("action", "")
    try:
        version = int(request.POST.get("version", order.version))
        if action == "accept":
            services.order_accept(order_id=order.pk, actor=user, expected_version=version)
        elif action == "start":
            services.order_start(order_id=order.pk, actor=user, expected_version=version)
        elif action == "comment":
            services.order_comment(order_id=order.pk, actor=user, text=request.POST.get("text", ""))
        else:
            return HttpResponse(_("Unknown action."), status=400)
    except (ValidationError, services.Conflict, ValueError) as e:
        message = " ".join(e.messages) if isinstance(e, ValidationError) else str(e)
        context = _task_context(request, selectors.order_for_user(user, order_id), conflict=message)
        return render(request, "workorders/task.html", context, status=409)
    return redirect("workorders:task", order_id=order.pk)


@require_POST
@assignee_or(None, writes=("POST",))
def task_photo_add(request: HttpRequest, order_id: int) -> HttpResponse:
    """One photo per request, each with its own client id: on a weak network a photo
    that failed is sent again alone, and a retried one is not stored twice."""
    user = request_user(request)
    order = selectors.order_for_user(user, order_id, write=selectors.ASSIGNEE)
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
            photos.photo_add(order_id=order.pk, actor=user, raw=upload.read(), client_id=client_id)
        except ValidationError as e:
            error = " ".join(e.messages)
        except services.Conflict as e:
            error = str(e)
    if not error and not request.htmx:  # type: ignore[attr-defined]
        return redirect("workorders:task", order_id=order.pk)
    context = _task_context(request, selectors.order_for_user(user, order_id), photo_error=error)
    template = "workorders/task.html#photos" if request.htmx else "workorders/task.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=400 if error else 200)


@require_GET
@assignee_or(Perm.ORDERS_VIEW)
def task_photo(request: HttpRequest, photo_id: int) -> HttpResponse:
    """A photo, to whoever may see its order (404 otherwise, as for the order)."""
    photo = selectors.photo_for_user(request_user(request), photo_id)
    response = HttpResponse(bytes(photo.data), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


@require_POST
@assignee_or(Perm.PII_UNMASK, writes=("POST",))
def task_call(request: HttpRequest, order_id: int) -> HttpResponse:
    """One tap to call the subject. The answer carries the number as a `tel:` link:
    htmx swaps it in and tasks.js follows it; without script the page shows it to tap.
    (A redirect to `tel:` is a form's navigation, which the CSP's `form-action 'self'`
    stops in Chromium: the dialer never opened.) The unmasking is audited, with the
    order as the purpose, by the response that hands the number over, so a refusal
    or an error records nothing."""
    user = request_user(request)
    order = selectors.order_for_user(user, order_id, write=Perm.PII_UNMASK, or_assignee=True)
    path = order.jurisdiction.path
    dial = _dialable(selectors.subject_phone(order))
    if not dial or order.status not in (Status.ASSIGNED, Status.ACCEPTED, Status.IN_PROGRESS):
        raise Http404
    template = "workorders/task.html#call" if request.htmx else "workorders/task.html"  # type: ignore[attr-defined]
    # Rendered before the audit: a page that fails to render hands nothing over.
    response = render(request, template, _task_context(request, order, dial=dial))
    audit_unmasking(
        request,
        obj=order,
        name=order.subject_label,
        path=path,
        purpose=_("Call for work order #%(id)d") % {"id": order.pk},
        fields=["phone"],
        via="call",
    )
    return response


def _dialable(phone: str) -> str:
    """What a `tel:` link may carry: digits and a leading plus, nothing else."""
    digits = "".join(c for c in phone if c in string.digits)
    return ("+" if phone.strip().startswith("+") else "") + digits if digits else ""


@require_GET
@signed_in
def inbox(request: HttpRequest) -> HttpResponse:
    notices = list(Notice.objects.filter(user=request_user(request))[:50])
    Notice.objects.filter(user=request_user(request), read_at__isnull=True).update(
        read_at=timezone.now()
    )
    return render(request, "workorders/inbox.html", {"notices": notices})
