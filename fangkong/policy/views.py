"""Rules pages: the risk-area catalogue (list, add, edit, lift, import, history), the
editions and their measures (national ones read-only, local ones editable), a page to
try the engine, and the division pickers."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.models import User
from fangkong.accounts.selectors import request_user
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core import uploads
from fangkong.core.forms import add_validation_errors
from fangkong.core.paging import CappedPaginator
from fangkong.core.tabular import Table, TableError
from fangkong.org.access import public, requires, signed_in
from fangkong.org.roles import Perm
from fangkong.org.scoping import grants_of, has_perm, holds_at_a_root
from fangkong.org.selectors import top_node
from fangkong.policy import divisions, engine, selectors, services
from fangkong.policy.forms import (
    AreaFilterForm,
    AreaForm,
    AreaImportForm,
    CheckForm,
    EditionCopyForm,
    EditionForm,
    LiftForm,
    MeasureFormSet,
)
from fangkong.policy.models import CodeRule, RiskArea

_PICKER_IDS = frozenset({"id_city", "id_county", "id_street"})


@require_GET
@signed_in
def area_list(request: HttpRequest) -> HttpResponse:
    form = AreaFilterForm(request.GET or None)
    areas = RiskArea.objects.all()
    if form.is_valid():
        d = form.cleaned_data
        if d["q"]:
            areas = areas.filter(Q(name__contains=d["q"]) | Q(code__startswith=d["q"]))
        if d["level"]:
            areas = areas.filter(level=d["level"])
        if d["on"]:
            areas = areas.filter(effective_from__lte=d["on"]).filter(
                Q(effective_to__isnull=True) | Q(effective_to__gt=d["on"])
            )
    page = CappedPaginator(areas, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "policy/area_list.html",
        {
            "form": form,
            "page": page,
            "can_edit": holds_at_a_root(request.user, Perm.RULES_MANAGE),
        },
    )


def _area_data(form: AreaForm) -> services.AreaData:
    d = form.cleaned_data
    return services.AreaData(
        code=d["code"],
        level=d["level"],
        effective_from=d["effective_from"],
        effective_to=d["effective_to"],
        place=d["place"] or "",
        source=d["source"] or "",
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.RULES_MANAGE, writes=("POST",), top=True)
def area_new(request: HttpRequest) -> HttpResponse:
    form = AreaForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            area = services.area_save(
                actor=request_user(request), data=_area_data(form), note=form.cleaned_data["note"]
            )
        except ValidationError as e:
            add_validation_errors(form, e)
        else:
            messages.success(request, _("Saved."))
            return redirect("policy:area", area_id=area.pk)
    status = 400 if form.is_bound else 200
    return render(request, "policy/area_form.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@requires(Perm.RULES_MANAGE, writes=("POST",), writes_at="top")
def area_detail(request: HttpRequest, area_id: int) -> HttpResponse:
    """An area, its history, and (POST) an edit or a lift."""
    area = selectors.area_for_user(request.user, area_id, write=request.method == "POST")
    initial = {
        f: getattr(area, f)
        for f in ("code", "place", "level", "effective_from", "effective_to", "source")
    }
    form, lift = AreaForm(initial=initial), LiftForm()
    if request.method == "POST":
        try:
            if request.POST.get("action") == "lift":
                lift = LiftForm(request.POST)
                if lift.is_valid():
                    services.area_lift(
                        actor=request_user(request),
                        area=area,
                        on=lift.cleaned_data["on"],
                        note=lift.cleaned_data["note"],
                    )
                    messages.success(request, _("Saved."))
                    return redirect("policy:area", area_id=area.pk)
            else:
                form = AreaForm(request.POST)
                if form.is_valid():
                    services.area_save(
                        actor=request_user(request),
                        data=_area_data(form),
                        area=area,
                        note=form.cleaned_data["note"],
                    )
                    messages.success(request, _("Saved."))
                    return redirect("policy:area", area_id=area.pk)
        except ValidationError as e:
            add_validation_errors(lift if request.POST.get("action") == "lift" else form, e)
    context = {
        "area": area,
        "form": form,
        "lift": lift,
        "history": area.changes.select_related("actor__staff"),
    }
    return render(
        request, "policy/area_detail.html", context, status=400 if request.method == "POST" else 200
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.RULES_MANAGE, writes=("POST",), top=True)
def area_import(request: HttpRequest) -> HttpResponse:
    """Upload → every row checked and shown → confirm. Nothing changes until the confirm,
    and then all rows or none."""
    user = request_user(request)
    if request.method == "POST" and request.POST.get("upload_id"):
        return _area_import_commit(request, user)
    form = AreaImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form}
    if request.method != "POST":
        return render(request, "policy/area_import.html", context)
    if not form.is_valid():
        return render(request, "policy/area_import.html", context, status=400)
    try:
        received = uploads.receive(form.cleaned_data["file"], services.AREA_UPLOAD)
        table = uploads.read(received, services.AREA_UPLOAD)
    except TableError as e:
        form.add_error("file", str(e))
        return render(request, "policy/area_import.html", context, status=400)
    plan = services.plan_area_import(
        table, default_source=form.cleaned_data["source"], today=timezone.localdate()
    )
    context["plan"] = plan
    if plan.errors:
        return render(request, "policy/area_import.html", context, status=400)
    context["upload"] = uploads.stage(owner=user, received=received)
    context["source"] = form.cleaned_data["source"]
    return render(request, "policy/area_import.html", context)


def _area_import_commit(request: HttpRequest, user: User) -> HttpResponse:
    upload = uploads.upload_for_user(user, services.AREA_UPLOAD, request.POST.get("upload_id", ""))
    context: dict[str, Any] = {"form": AreaImportForm()}

    def apply(table: Table) -> services.AreaImport:
        plan = services.plan_area_import(
            table, default_source=request.POST.get("source", ""), today=timezone.localdate()
        )
        if plan.errors:
            raise uploads.Refused(plan)
        return services.commit_area_import(plan, actor=user, filename=upload.filename)

    try:
        context["result"] = context["plan"] = uploads.commit(upload, services.AREA_UPLOAD, apply)
    except uploads.Refused as refused:
        context["plan"] = refused.payload
        return render(request, "policy/area_import.html", context, status=400)
    except TableError as e:
        context["form"].add_error("file", str(e))
        return render(request, "policy/area_import.html", context, status=400)
    return render(request, "policy/area_import.html", context)


@require_GET
@signed_in
def edition_list(request: HttpRequest) -> HttpResponse:
    editions = (
        selectors.editions_visible(request.user)
        .select_related("scope", "based_on")
        .prefetch_related("measures")
    )
    return render(
        request,
        "policy/edition_list.html",
        {
            "editions": editions,
            "code_rules": CodeRule.objects.all(),
            "can_edit": has_perm(request.user, Perm.RULES_MANAGE),
            "copy_form": EditionCopyForm(),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.RULES_MANAGE, writes=("POST",))
def edition_detail(request: HttpRequest, edition_id: int) -> HttpResponse:
    """A local edition's settings and measures; a national edition is shown read-only."""
    edition = selectors.edition_for_user(request.user, edition_id, write=request.method == "POST")
    editable = edition.scope is not None and has_perm(
        request.user, Perm.RULES_MANAGE, edition.scope.path
    )
    measures = edition.measures.all()
    form = EditionForm(request.POST or None, instance=edition)
    formset = MeasureFormSet(request.POST or None, queryset=measures)
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        with transaction.atomic():
            form.save()
            formset.save()
            audit_record(
                action=AuditAction.UPDATE,
                request=request,
                obj=edition,
                object_repr=edition.name,
                detail={
                    "changed": form.changed_data,
                    "measures": [f.instance.category for f in formset.forms if f.has_changed()],
                },
            )
        messages.success(request, _("Saved."))
        return redirect("policy:edition", edition_id=edition.pk)
    return render(
        request,
        "policy/edition_detail.html",
        {
            "edition": edition,
            "form": form,
            "formset": formset,
            "editable": editable,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@requires(Perm.RULES_MANAGE, writes=("POST",), writes_at="own")
def edition_copy(request: HttpRequest, edition_id: int) -> HttpResponse:
    source = selectors.edition_for_user(request.user, edition_id)
    form = EditionCopyForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for errs in form.errors.values() for m in errs))
        return redirect("policy:editions")
    # The local edition is local to the top of the user's area.
    scope = top_node(request.user, Perm.RULES_MANAGE)
    copy = services.edition_copy(
        actor=request_user(request),
        source=source,
        name=form.cleaned_data["name"],
        scope=scope,
        effective_from=form.cleaned_data["effective_from"],
    )
    messages.success(request, _("A local edition was made; change what differs."))
    return redirect("policy:edition", edition_id=copy.pk)


@require_GET
@signed_in
def check(request: HttpRequest) -> HttpResponse:
    """Try the engine on one origin and/or exposure."""
    form = CheckForm(request.GET or None)
    decision = None
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        origins, exposures = [], []
        if d["code"]:
            try:
                origins.append(
                    engine.Origin(services.clean_code(d["code"]), d["left_on"], d["place"] or "")
                )
            except ValidationError as e:
                add_validation_errors(form, e)
        if d["exposure"]:
            exposures.append(engine.Exposure(d["exposure"], d["last_on"]))
        if not form.errors:
            grants = grants_of(request.user)
            path = grants[0].path if grants else ""
            decision = engine.decide(d["on"], origins, exposures, path=path)
    return render(request, "policy/check.html", {"form": form, "decision": decision})


@require_GET
@public
def division_options(request: HttpRequest) -> HttpResponse:
    """<option>s of the divisions under ?parent= (the public form's pickers use it)."""
    # The picker that changed sends its own value under its name (htmx); `clear` names
    # the pickers below it, emptied out of band.
    parent = next(
        (request.GET[k] for k in ("parent", "county", "city", "province") if request.GET.get(k)), ""
    )
    if parent and (not parent.isdigit() or len(parent) not in divisions.LEVELS):
        raise Http404
    clear = [c for c in request.GET.get("clear", "").split(",") if c in _PICKER_IDS]
    response = render(
        request,
        "policy/_division_options.html",
        {"options": divisions.children(parent), "clear": clear},
    )
    response["Cache-Control"] = "public, max-age=86400"
    return response
