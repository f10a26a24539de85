"""Pages of emergency response (thin): the command page (the level in force, plans,
activations), a plan with its groups and steps (edited by the commander), its
activation, the live timeline of an activation, the phone page where whoever was called
taps "I'm here", and the response level of a node with its history and the switch."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from fangkong.accounts.selectors import request_user
from fangkong.core.forms import add_validation_errors
from fangkong.org.access import requires, signed_in
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.org.selectors import jurisdiction_for_user
from fangkong.response import selectors, services
from fangkong.response.forms import ActivateForm, LevelForm, PlanForm, StepForm


@require_http_methods(["GET"])
@requires(Perm.RESPONSE_VIEW)
def index(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    nodes = selectors.level_nodes(user)
    return render(
        request,
        "response/index.html",
        {
            "levels": [selectors.level_at(n) for n in nodes[:12]],
            "plans": list(selectors.plans_visible(user)[:50]),
            "activations": list(selectors.activations_visible(user)[:30]),
        },
    )


def _step_form(plan: Any, data: Any = None) -> StepForm:
    return StepForm(data, groups=[(g.code, g.name) for g in plan.groups.all()])


@require_http_methods(["GET", "POST"])
@requires(Perm.RESPONSE_VIEW, writes=("POST",))
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponseBase:
    user = request_user(request)
    plan = selectors.plan_for_user(user, plan_id, write=request.method == "POST")
    plan_form = PlanForm(initial={"name": plan.name, "assemble_minutes": plan.assemble_minutes})
    step_form = _step_form(plan)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "plan":
                plan_form = PlanForm(request.POST)
                if not plan_form.is_valid():
                    raise ValidationError(_("Check the plan's fields."))
                services.plan_update(actor=user, plan=plan, **plan_form.cleaned_data)
            elif action == "delete":
                services.step_delete(actor=user, plan=plan, step_id=_int(request.POST.get("step")))
            else:
                step_form = _step_form(plan, request.POST)
                if not step_form.is_valid():
                    raise ValidationError(_("Check the step's fields."))
                data = step_form.cleaned_data
                step = plan.steps.filter(pk=data["step"] or 0).first() if data["step"] else None
                services.step_save(
                    actor=user,
                    plan=plan,
                    title=data["title"],
                    minutes=data["minutes"],
                    group_code=data["group"],
                    role=data["role"],
                    step=step,
                )
        except ValidationError as e:
            add_validation_errors(step_form if action not in ("plan",) else plan_form, e)
            status = 400
        else:
            messages.success(request, _("The plan is saved."))
            return redirect("response:plan", plan_id=plan.pk)
    may_edit = (
        has_perm(user, Perm.RESPONSE_MANAGE, plan.jurisdiction.path)
        if plan.jurisdiction
        else has_perm(user, Perm.RESPONSE_MANAGE) and selectors.holds_top(user)
    )
    return render(
        request,
        "response/plan.html",
        {
            "plan": plan,
            "groups": list(plan.groups.all()),
            "steps": list(plan.steps.select_related("group")),
            "plan_form": plan_form,
            "step_form": step_form,
            "may_edit": may_edit,
            "may_copy": plan.jurisdiction is None and has_perm(user, Perm.RESPONSE_MANAGE),
        },
        status=status,
    )


def _int(raw: str | None) -> int:
    try:
        return max(0, min(int(raw or 0), 2**31 - 1))
    except ValueError:
        return 0


@require_http_methods(["POST"])
@requires(Perm.RESPONSE_MANAGE, writes=("POST",), writes_at="own")
def plan_copy(request: HttpRequest, plan_id: int) -> HttpResponseBase:
    user = request_user(request)
    plan = selectors.plan_for_user(user, plan_id)
    node = selectors.own_plan_node(user)
    if node is None:
        messages.error(request, _("You keep no town's plans."))
        return redirect("response:plan", plan_id=plan.pk)
    copy, _new = services.plan_copy(actor=user, plan=plan, node=node)
    return redirect("response:plan", plan_id=copy.pk)


@require_http_methods(["GET", "POST"])
@requires(Perm.RESPONSE_MANAGE, writes=("POST",))
def activate(request: HttpRequest, plan_id: int) -> HttpResponseBase:
    user = request_user(request)
    plan = selectors.plan_for_user(user, plan_id, write=request.method == "POST")
    node = selectors.activation_node(user, plan)
    if plan.jurisdiction is None and not selectors.holds_top(user):
        node = None  # a town activates its own copy of a shipped plan
    form = ActivateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and node is not None:
            try:
                act = services.activate(
                    actor=user,
                    plan=plan,
                    node=node,
                    event=form.cleaned_data["event"],
                    drill=form.cleaned_data["drill"],
                )
            except ValidationError as e:
                add_validation_errors(form, e, rename={"plan": "event"})
                status = 400
            else:
                return redirect("response:activation", activation_id=act.pk)
        else:
            status = 400
    return render(
        request,
        "response/activate.html",
        {"plan": plan, "node": node, "form": form},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.RESPONSE_VIEW, writes=("POST",))
def activation_detail(request: HttpRequest, activation_id: int) -> HttpResponseBase:
    user = request_user(request)
    act = selectors.activation_for_user(user, activation_id, write=request.method == "POST")
    if request.method == "POST":
        try:
            if request.POST.get("action") == "close":
                services.activation_close(actor=user, activation=act)
            else:
                services.step_done(
                    actor=user, activation=act, position=_int(request.POST.get("position"))
                )
        except ValidationError as e:
            messages.error(request, " ".join(e.messages))
        return redirect("response:activation", activation_id=act.pk)
    template = (
        "response/_timeline.html" if request.headers.get("HX-Request") else "response/timeline.html"
    )
    return render(
        request,
        template,
        {
            "act": act,
            "line": selectors.timeline(act),
            "may_manage": has_perm(user, Perm.RESPONSE_MANAGE, act.jurisdiction.path),
        },
    )


@require_http_methods(["GET", "POST"])
@signed_in
def here(request: HttpRequest) -> HttpResponse:
    """The phone page of whoever was called: one big button per running call."""
    user = request_user(request)
    status = 200
    if request.method == "POST":
        callout_id = _int(request.POST.get("callout"))
        if not callout_id:
            messages.error(request, _("Choose the call you answer."))
            status = 400
        else:
            callout = selectors.callout_for_user(user, callout_id)
            try:
                done, new = services.arrive(actor=user, callout=callout)
            except ValidationError as e:
                messages.error(request, " ".join(e.messages))
                status = 400
            else:
                late = done.arrived_at is not None and done.arrived_at > done.activation.assemble_by
                if not new:
                    messages.info(request, _("Your arrival was already recorded."))
                elif late:
                    messages.warning(request, _("Arrival recorded (after the assembly time)."))
                else:
                    messages.success(request, _("Arrival recorded, on time."))
    # With a script, the tap goes through the phone's offline queue (here.js).
    return render(
        request,
        "response/here.html",
        {"calls": selectors.open_callouts(user), "csrf": get_token(request)},
        status=status,
    )


@require_http_methods(["GET"])
@requires(Perm.RESPONSE_VIEW)
def levels(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    return render(
        request,
        "response/levels.html",
        {
            "states": [selectors.level_at(n) for n in selectors.level_nodes(user)],
            "levels": list(selectors.levels()),
        },
    )


def _level_page(
    request: HttpRequest, user: Any, node: Any, form: LevelForm, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "response/level.html",
        {
            "node": node,
            "state": selectors.level_at(node),
            "history": selectors.level_history(user, node),
            "form": form,
            "may_switch": has_perm(user, Perm.RESPONSE_MANAGE, node.path),
        },
        status=status,
    )


def _level_form(data: Any = None) -> LevelForm:
    return LevelForm(data, levels=[(lv.code, lv.name) for lv in selectors.levels()])


@require_http_methods(["GET"])
@requires(Perm.RESPONSE_VIEW)
def level_node(request: HttpRequest, code: str) -> HttpResponse:
    user = request_user(request)
    node = jurisdiction_for_user(user, code, Perm.RESPONSE_VIEW)
    return _level_page(request, user, node, _level_form())


@require_http_methods(["POST"])
@requires(Perm.RESPONSE_MANAGE, writes=("POST",))
def level_switch(request: HttpRequest, code: str) -> HttpResponseBase:
    """Switch the node's level: one audited action; the same level again changes nothing."""
    user = request_user(request)
    node = jurisdiction_for_user(user, code, Perm.RESPONSE_VIEW, write=Perm.RESPONSE_MANAGE)
    form = _level_form(request.POST)
    if not form.is_valid():
        return _level_page(request, user, node, form, 400)
    try:
        _change, changed = services.level_switch(
            actor=user,
            node=node,
            level=selectors.level_by_code(form.cleaned_data["level"]),
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as e:
        add_validation_errors(form, e)
        return _level_page(request, user, node, form, 400)
    if changed:
        messages.success(request, _("The response level is switched."))
    else:
        messages.info(request, _("The node is at that level already."))
    return redirect("response:level", code=node.code)
