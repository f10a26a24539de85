"""Pages for jurisdictions, staff and teams. Thin: selectors read, services write."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import cast

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.exports import export_response
from fangkong.core.models import Upload
from fangkong.core.tabular import TableError, read_table
from fangkong.org import selectors
from fangkong.org.access import requires
from fangkong.org.forms import UnmaskForm, UploadForm
from fangkong.org.models import Team
from fangkong.org.pii import export_unmask, refused_export, unmask_view
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.org.tree_io import (
    EXPORT_HEADER,
    STAFF_EXPORT_HEADER,
    planned_paths,
    staff_export_rows,
    tree_export_rows,
    tree_import_commit,
)
from fangkong.org.validation import plan_tree_import

UPLOAD_KIND_TREE = "org.tree"


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
    }
    return render(request, "org/node.html", context)


@require_GET
@requires(Perm.ORG_VIEW)
def staff_list(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("node", "")
    current = selectors.jurisdiction_for_user(request.user, code) if code else None
    q = request.GET.get("q", "").strip()[:50]
    qs = selectors.staff_search(request.user, node=current, q=q)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    template = "org/staff_list.html#rows" if request.htmx else "org/staff_list.html"  # type: ignore[attr-defined]
    return render(request, template, {"page": page, "node": current, "q": q})


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
        request, obj=profile, name=profile.name, path=profile.jurisdiction.path,
        fields=["phone"], template="org/staff_detail.html", context={"profile": profile},
    )  # fmt: skip


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
        "members": "\n".join(f"{m.user.username},{m.slot}" if m.slot else m.user.username
                             for m in members),
        "leader": team.leader.username if team.leader else "",
    }  # fmt: skip
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
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read()
        name = form.cleaned_data["file"].name
        try:
            table = read_table(data, name)
        except TableError as exc:
            form.add_error("file", str(exc))
            return render(request, "org/import.html", context, status=400)
        plan = plan_tree_import(table.headers, table.rows)
        context["plan"] = plan
        if not plan.errors:
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
            Upload.objects.filter(created_at__lt=timezone.now() - timedelta(days=1)).delete()
            upload = Upload.objects.create(
                owner=cast(User, request.user),
                kind=UPLOAD_KIND_TREE,
                filename=name[:255],
                sha256=hashlib.sha256(data).hexdigest(),
                data=data,
            )
            context["upload"] = upload
        return render(request, "org/import.html", context, status=200 if not plan.errors else 400)
    return render(request, "org/import.html", context)


@require_POST
@requires(Perm.ORG_MANAGE, writes=("POST",))
def tree_import_confirm(request: HttpRequest, upload_id: int) -> HttpResponse:
    upload = Upload.objects.filter(
        pk=upload_id, owner=cast(User, request.user), kind=UPLOAD_KIND_TREE
    ).first()
    if upload is None:
        raise Http404
    table = read_table(bytes(upload.data), upload.filename)
    plan = plan_tree_import(table.headers, table.rows)
    if plan.errors:
        return render(request, "org/import.html", {"form": UploadForm(), "plan": plan}, status=400)
    try:
        result = tree_import_commit(plan=plan)
    except ValidationError as exc:
        return render(
            request, "org/import.html", {"form": UploadForm(), "error": exc.messages}, status=400
        )
    audit_record(
        action=AuditAction.IMPORT,
        request=request,
        object_repr=upload.filename,
        detail={"kind": UPLOAD_KIND_TREE, **result},
    )
    upload.delete()
    return render(request, "org/import.html", {"form": UploadForm(), "result": result})


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
