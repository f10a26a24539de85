"""Pages for jurisdictions, staff and teams. Thin: selectors read, services write."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.selectors import request_user
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core import search_terms, uploads
from fangkong.core.exports import export_response
from fangkong.core.tabular import Table, TableError
from fangkong.org import selectors
from fangkong.org.access import requires
from fangkong.org.forms import UnmaskForm, UploadForm
from fangkong.org.models import Level, Team
from fangkong.org.pii import export_unmask, refused_export, unmask_view
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.org.tree_io import (
    EXPORT_HEADER,
    STAFF_EXPORT_HEADER,
    TREE_UPLOAD,
    planned_paths,
    staff_export_rows,
    tree_export_rows,
    tree_import_commit,
)
from fangkong.org.validation import plan_tree_import


@require_GET
@requires(Perm.ORG_VIEW)
def tree(request: HttpRequest) -> HttpResponse:
    return render(request, "org/tree.html", {"roots": selectors.scope_roots(request.user)})


@require_GET
@requires(Perm.ORG_VIEW)
def node(request: HttpRequest, code: str) -> HttpResponse:
    current = selectors.jurisdiction_for_user(request.user, code)
    context = {
        "node": current,
        "ancestors": selectors.visible_ancestors(request.user, current),
        "children": selectors.children_of(current),
        "teams": selectors.teams_visible(request.user).filter(jurisdiction=current),
        "staff_count": selectors.staff_search(request.user, node=current).count(),
        # The returnees' QR poster of a village (a grid's, a town's: all its villages').
        "can_poster": current.level >= Level.TOWN
        and has_perm(request.user, Perm.PEOPLE_VIEW, current.path),
    }
    return render(request, "org/node.html", context)


@require_http_methods(["GET", "POST"])
@requires(Perm.ORG_VIEW, writes=("POST",))
def staff_list(request: HttpRequest) -> HttpResponse:
    """The roster and its search, which posts: a phone or ID number typed in never
    enters an address (`core.search_terms`), as on the registry's list."""
    if request.method == "POST":
        params = search_terms.address_query(request, request.POST, ("node",))
        url = f"{reverse('org:staff_list')}?{params.urlencode()}"
        if not request.htmx:  # type: ignore[attr-defined]
            return redirect(url)
    else:
        params = request.GET
    code = params.get("node", "")
    current = selectors.jurisdiction_for_user(request.user, code) if code else None
    found = search_terms.term_from_address(request, params)
    q = found.term[:50]
    qs = selectors.staff_search(request.user, node=current, q=q)
    if found.error:
        qs = qs.none()
    page = Paginator(qs, 50).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "node": current,
        "q": q,
        "q_error": found.error,
        "query": query.urlencode(),
    }
    template = "org/staff_list.html#rows" if request.htmx else "org/staff_list.html"  # type: ignore[attr-defined]
    response = render(request, template, context)
    if request.method == "POST":
        response["HX-Push-Url"] = url
    return response


@require_GET
@requires(Perm.ORG_VIEW)
def staff_detail(request: HttpRequest, staff_id: int) -> HttpResponse:
    profile = selectors.staff_for_user(request.user, staff_id)
    return render(
        request,
        "org/staff_detail.html",
        {
            "profile": profile,
            "memberships": selectors.memberships_of(profile),
            "teams": profile.user.team_memberships.select_related("team"),
            "can_unmask": has_perm(request.user, Perm.PII_UNMASK, profile.jurisdiction.path),
            "form": UnmaskForm(),
        },
    )


@require_POST
@requires(Perm.PII_UNMASK, writes=("POST",))
def staff_unmask(request: HttpRequest, staff_id: int) -> HttpResponse:
    """Show one phone number in clear, for a stated purpose, and audit it."""
    profile = selectors.staff_for_user(request.user, staff_id)
    return unmask_view(
        request,
        obj=profile,
        name=profile.name,
        path=profile.jurisdiction.path,
        fields=["phone"],
        template="org/staff_detail.html",
        context={"profile": profile},
    )


@require_GET
@requires(Perm.ORG_VIEW)
def team_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.teams_visible(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "org/team_list.html", {"page": page})


@require_GET
@requires(Perm.ORG_VIEW)
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    team = selectors.team_for_user(request.user, team_id)
    return render(request, "org/team_detail.html", team_detail_context(request, team))


def team_detail_context(request: HttpRequest, team: Team) -> dict[str, object]:
    from fangkong.org.forms import TeamMembersForm
    from fangkong.org.services import team_composition_errors

    members = list(team.members.select_related("user__staff__jurisdiction").order_by("slot", "id"))
    can_edit = has_perm(request.user, Perm.TEAM_MANAGE, team.jurisdiction.path)
    initial = {
        "members": "\n".join(
            f"{m.user.username},{m.slot}" if m.slot else m.user.username for m in members
        ),
        "leader": team.leader.username if team.leader else "",
    }
    return {
        "team": team,
        "members": members,
        "problems": team_composition_errors(team),
        "can_edit": can_edit,
        "members_form": TeamMembersForm(initial=initial) if can_edit else None,
    }


@require_http_methods(["GET", "POST"])
@requires(Perm.ORG_MANAGE, writes=("POST",))
def tree_import(request: HttpRequest) -> HttpResponse:
    """Phase 1: upload and validate, show the preview. Phase 2: commit (separate view)."""
    form = UploadForm(request.POST or None, request.FILES or None)
    context: dict[str, object] = {"form": form}
    if request.method != "POST":
        return render(request, "org/import.html", context)
    if not form.is_valid():
        return render(request, "org/import.html", context, status=400)
    try:
        received = uploads.receive(form.cleaned_data["file"], TREE_UPLOAD)
        table = uploads.read(received, TREE_UPLOAD)
    except TableError as exc:
        form.add_error("file", str(exc))
        return render(request, "org/import.html", context, status=400)
    plan = plan_tree_import(table.headers, table.rows)
    context["plan"] = plan
    context["preview"] = uploads.preview(table)
    if plan.errors:
        return render(request, "org/import.html", context, status=400)
    outside = [
        code
        for code, paths in planned_paths(plan).items()
        if not all(has_perm(request.user, Perm.ORG_MANAGE, p) for p in paths)
    ]
    if outside:
        form.add_error(
            "file",
            _("Some rows are outside your jurisdiction: %(codes)s")
            % {"codes": ", ".join(outside[:5])},
        )
        return render(request, "org/import.html", context, status=400)
    context["upload"] = uploads.stage(owner=request_user(request), received=received)
    return render(request, "org/import.html", context)


def _apply_tree(table: Table) -> dict[str, int]:
    plan = plan_tree_import(table.headers, table.rows)
    if plan.errors:
        raise uploads.Refused(plan)
    return tree_import_commit(plan=plan)


@require_POST
@requires(Perm.ORG_MANAGE, writes=("POST",))
def tree_import_confirm(request: HttpRequest, upload_id: int) -> HttpResponse:
    upload = uploads.upload_for_user(request_user(request), TREE_UPLOAD, upload_id)
    context: dict[str, object] = {"form": UploadForm()}
    try:
        result = uploads.commit(upload, TREE_UPLOAD, _apply_tree)
    except uploads.Refused as refused:
        context["plan"] = refused.payload
        return render(request, "org/import.html", context, status=400)
    except ValidationError as exc:
        context["error"] = exc.messages
        return render(request, "org/import.html", context, status=400)
    except TableError as exc:
        context["error"] = [str(exc)]
        return render(request, "org/import.html", context, status=400)
    audit_record(
        action=AuditAction.IMPORT,
        request=request,
        object_repr=upload.filename,
        detail={"kind": TREE_UPLOAD.name, **result},
    )
    context["result"] = result
    return render(request, "org/import.html", context)


@require_GET
@requires(Perm.DATA_EXPORT)
def tree_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    nodes = selectors.jurisdictions_visible(request.user)
    code = request.GET.get("node")
    if code:
        nodes = nodes.within(selectors.jurisdiction_for_user(request.user, code).path)
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        object_repr=_("jurisdiction tree"),
        detail={"format": fmt, "node": code or ""},
    )
    return export_response(fmt, "jurisdictions", EXPORT_HEADER, tree_export_rows(nodes))


@require_GET
@requires(Perm.DATA_EXPORT)
def staff_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """The staff roster, masked; `unmask=1` with a purpose shows clear values where the
    user may unmask, and the purpose goes to the audit log with the export."""
    code = request.GET.get("node", "")
    current = selectors.jurisdiction_for_user(request.user, code) if code else None
    asked = export_unmask(request)
    if asked is None:
        return refused_export()
    profiles = selectors.staff_search(request.user, node=current)
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        object_repr=_("staff roster"),
        jurisdiction_path=current.path if current else "",
        purpose=asked.purpose,
        detail={"format": fmt, "node": code, "unmasked": asked.unmask},
    )
    return export_response(
        fmt, "staff", STAFF_EXPORT_HEADER, staff_export_rows(profiles, asked.clear_paths)
    )
