"""Notification pages: outside channels (with a test message), message templates,
broadcasts to the staff under a node, and the delivery log with a retry."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.selectors import request_user
from fangkong.core.forms import add_validation_errors
from fangkong.core.paging import CappedPaginator
from fangkong.notify import selectors, services
from fangkong.notify.forms import BroadcastForm, ChannelForm, DeliveryFilterForm, TemplateForm
from fangkong.notify.models import ChannelKind, MessageTemplate
from fangkong.org.access import requires
from fangkong.org.models import StaffProfile
from fangkong.org.roles import Perm
from fangkong.org.selectors import top_node


def _status(request: HttpRequest, form: Any) -> int:
    return 400 if request.method == "POST" and form.is_bound else 200


# Channels ---------------------------------------------------------------------------------


@require_GET
@requires(Perm.NOTIFY_MANAGE)
def channel_list(request: HttpRequest) -> HttpResponse:
    channels = [
        (c, [services.EVENT_LABELS.get(e, e) for e in c.events])
        for c in selectors.channel_list(request_user(request), timezone.now())
    ]
    return render(request, "notify/channels.html", {"channels": channels})


@require_http_methods(["GET", "POST"])
@requires(Perm.NOTIFY_MANAGE, writes=("POST",))
def channel_new(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    form = ChannelForm(request.POST or None, user=user, initial={"enabled": True})
    if request.method == "POST" and form.is_valid():
        channel = services.channel_save(
            actor=user, channel=None, data=form.channel_data(), secret=form.new_secret() or ""
        )
        messages.success(request, _("Saved."))
        return redirect("notify:channel", channel_id=channel.pk)
    return render(
        request,
        "notify/channel_form.html",
        {"form": form, "channel": None},
        status=_status(request, form),
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.NOTIFY_MANAGE, writes=("POST",))
def channel_edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    user = request_user(request)
    channel = selectors.channel_for_user(user, channel_id)
    # The form writes the posted values onto its instance while validating; the page
    # header and the service keep the stored ones.
    form = ChannelForm(request.POST or None, user=user, instance=copy.copy(channel))
    if request.method == "POST" and form.is_valid():
        services.channel_save(
            actor=user, channel=channel, data=form.channel_data(), secret=form.new_secret()
        )
        messages.success(request, _("Saved."))
        return redirect("notify:channel", channel_id=channel.pk)
    recent = selectors.deliveries_visible(user, selectors.DeliveryFilters(channel_id=channel.pk))
    return render(
        request,
        "notify/channel_form.html",
        {
            "form": form,
            "channel": channel,
            "recent": recent[:10],
            "needs_phone": channel.kind == ChannelKind.SMS,
        },
        status=_status(request, form),
    )


@require_POST
@requires(Perm.NOTIFY_MANAGE, writes=("POST",))
def channel_test(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Queue a test message on the channel (an SMS goes to the sender's own phone)."""
    user = request_user(request)
    channel = selectors.channel_for_user(user, channel_id)
    if not channel.enabled:
        messages.error(request, _("The channel is disabled; enable it before testing it."))
        return redirect("notify:channel", channel_id=channel.pk)
    profile = StaffProfile.objects.filter(user=user).only("phone").first()
    try:
        queued = services.channel_test(
            actor=user, channel=channel, phone=profile.phone if profile else ""
        )
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(
            request,
            _("%(n)d test message queued; the delivery log shows whether it arrived.")
            % {"n": queued},
        )
    return redirect("notify:channel", channel_id=channel.pk)


# Templates --------------------------------------------------------------------------------


def _templates_editable(request: HttpRequest) -> bool:
    """Templates belong to no node: one town's commander must not rewrite another's
    letter, so only a manager of the whole tree changes them (others read them)."""
    can_edit = selectors.manages_everything(request.user)
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    return can_edit


@require_GET
@requires(Perm.NOTIFY_MANAGE)
def template_list(request: HttpRequest) -> HttpResponse:
    templates = [(t, services.template_variables(t)) for t in MessageTemplate.objects.all()]
    return render(request, "notify/templates.html", {"templates": templates})


@require_http_methods(["GET", "POST"])
@requires(Perm.NOTIFY_MANAGE, writes=("POST",), writes_at="top")
def template_new(request: HttpRequest) -> HttpResponse:
    return _template_form(request, None)


@require_http_methods(["GET", "POST"])
@requires(Perm.NOTIFY_MANAGE, writes=("POST",), writes_at="top")
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    template = selectors.template_for_user(
        request.user, template_id, write=request.method == "POST"
    )
    return _template_form(request, template)


def _template_form(request: HttpRequest, template: MessageTemplate | None) -> HttpResponse:
    can_edit = _templates_editable(request)
    # The form writes the posted values onto its instance while validating; the page
    # header and the service keep the stored ones.
    form = TemplateForm(request.POST or None, instance=copy.copy(template) if template else None)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.template_save(
                actor=request_user(request), template=template, data=form.cleaned_data
            )
        except ValidationError as e:
            form.add_error(None, e.messages)
        else:
            messages.success(request, _("Saved."))
            return redirect("notify:template", template_id=saved.pk)
    return render(
        request,
        "notify/template_form.html",
        {
            "form": form,
            "template": template,
            "can_edit": can_edit,
            "variables": services.template_variables(template) if template else [],
        },
        status=_status(request, form),
    )


# Broadcasts -------------------------------------------------------------------------------

_BROADCAST_FIELDS = ("key", "template", "title", "body", "node", "team", "sms", "robots")


@require_http_methods(["GET", "POST"])
@requires(Perm.BROADCAST, writes=("POST",))
def broadcast(request: HttpRequest) -> HttpResponse:
    """Write or pick a message, choose who gets it, preview, send. "Load" (the template
    changed, without JavaScript) and "preview" send nothing."""
    user = request_user(request)
    action = request.POST.get("action", "send")
    context: dict[str, Any] = {}
    if request.method == "POST" and action == "load":
        initial: dict[str, Any] = {f: request.POST.get(f) for f in _BROADCAST_FIELDS}
        initial["roles"] = request.POST.getlist("roles")
        form = BroadcastForm(initial=initial, user=user)
    elif request.method == "POST":
        form = BroadcastForm(request.POST, user=user)
        if form.is_valid():
            d = form.cleaned_data
            if action == "preview":
                context["preview"] = _preview(d)
                return render(request, "notify/broadcast.html", {"form": form, **context})
            try:
                result = services.broadcast_send(
                    actor=user,
                    node=d["node"],
                    title=d["title"],
                    body=d["body"],
                    roles=d["roles"],
                    team=d["team"],
                    sms=d["sms"],
                    robots=d["robots"],
                    key=str(d["key"]),
                )
            except ValidationError as e:
                add_validation_errors(form, e)
            else:
                _tell(request, result)
                return redirect("notify:broadcast")
    else:
        form = BroadcastForm(
            user=user,
            initial={
                "key": uuid.uuid4(),
                "node": top_node(user, Perm.BROADCAST),
                "template": request.GET.get("template") or None,
            },
        )
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "notify/broadcast.html", {"form": form, **context}, status=status)


def _preview(d: dict[str, Any]) -> dict[str, Any]:
    reached = selectors.audience(d["node"], d["roles"], d["team"])
    return {
        "title": d["title"],
        "body": d["body"],
        "staff": len(reached),
        "phones": StaffProfile.objects.filter(user_id__in=reached).exclude(phone_hash="").count()
        if d["sms"]
        else 0,
        "no_sms_channel": d["sms"] and selectors.sms_channel_for(d["node"]) is None,
        "robots": len(services.broadcast_groups(d["node"])) if d["robots"] else 0,
    }


def _tell(request: HttpRequest, result: services.BroadcastResult) -> None:
    if result.repeated:
        messages.info(request, _("This broadcast was sent already; nothing was sent again."))
        return
    messages.success(
        request,
        _("Sent: %(inbox)d to inboxes, %(sms)d by SMS, %(robots)d to group robots.")
        % {"inbox": result.inbox, "sms": result.sms, "robots": result.robots},
    )
    if result.no_sms_channel:
        messages.warning(request, _("No SMS gateway is set up for this node; nothing went by SMS."))


# Delivery log -----------------------------------------------------------------------------


@require_GET
@requires(Perm.NOTIFY_MANAGE)
def delivery_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    form = DeliveryFilterForm(request.GET or None, user=user)
    rows = selectors.deliveries_visible(user, form.filters())
    page = CappedPaginator(rows, 50).get_page(request.GET.get("page"))
    labels = {**services.EVENT_LABELS, services.TEST_EVENT: _("Test message")}
    for row in page:
        row.event_label = labels.get(row.event, row.event)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "notify/deliveries.html", {"form": form, "page": page, "query": query.urlencode()}
    )


@require_POST
@requires(Perm.NOTIFY_MANAGE, writes=("POST",))
def delivery_retry(request: HttpRequest, delivery_id: int) -> HttpResponse:
    user = request_user(request)
    delivery = selectors.delivery_for_user(user, delivery_id)
    if services.delivery_retry(actor=user, delivery=delivery):
        messages.success(request, _("Queued again; the worker sends it within a minute."))
    else:
        messages.info(request, _("Only a failed delivery is retried."))
    # Back to the same filtered page; only the query string is taken from the form.
    query = QueryDict(request.POST.get("query", "")).urlencode()
    return redirect(reverse("notify:deliveries") + (f"?{query}" if query else ""))
