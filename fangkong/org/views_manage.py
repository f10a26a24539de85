"""Pages that change the organisation: register staff, form teams, set members."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from fangkong.accounts.models import User
from fangkong.accounts.selectors import request_user
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.forms import add_validation_errors
from fangkong.core.masking import mask_name
from fangkong.org import selectors
from fangkong.org.access import requires
from fangkong.org.forms import StaffForm, TeamForm, TeamMembersForm, node_from_form
from fangkong.org.roles import Perm
from fangkong.org.services import staff_register, team_create, team_set_members


@require_http_methods(["GET", "POST"])
@requires(Perm.STAFF_MANAGE, writes=("POST",))
def staff_create(request: HttpRequest) -> HttpResponse:
    form = StaffForm(request.POST or None, initial={"node": request.GET.get("node", "")})
    if request.method == "POST" and form.is_valid():
        node = node_from_form(form, request.user, Perm.STAFF_MANAGE)
        if node is not None:
            data = form.cleaned_data
            password = secrets.token_urlsafe(9)  # shown once; the person changes it
            try:
                profile = staff_register(
                    by=request_user(request),
                    jurisdiction=node,
                    password=password,
                    **{
                        k: data[k]
                        for k in (
                            "username",
                            "name",
                            "kind",
                            "role",
                            "responsibility",
                            "post",
                            "phone",
                            "id_number",
                            "unit",
                            "is_party_member",
                        )
                    },
                )
            except ValidationError as exc:
                add_validation_errors(form, exc)
            else:
                audit_record(
                    action=AuditAction.CREATE,
                    request=request,
                    obj=profile,
                    object_repr=mask_name(profile.name),
                    jurisdiction_path=node.path,
                    detail={"role": data["role"]},
                )
                return render(
                    request, "org/staff_created.html", {"profile": profile, "password": password}
                )
    status = 400 if request.method == "POST" else 200
    return render(request, "org/staff_form.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@requires(Perm.TEAM_MANAGE, writes=("POST",))
def team_create_view(request: HttpRequest) -> HttpResponse:
    form = TeamForm(request.POST or None, initial={"node": request.GET.get("node", "")})
    if request.method == "POST" and form.is_valid():
        node = node_from_form(form, request.user, Perm.TEAM_MANAGE)
        if node is not None:
            data = form.cleaned_data
            try:
                team = team_create(
                    name=data["name"],
                    kind=data["kind"],
                    jurisdiction=node,
                    duty=data["duty"],
                    template=data["template"],
                )
            except ValidationError as exc:
                add_validation_errors(form, exc)
            else:
                audit_record(
                    action=AuditAction.CREATE,
                    request=request,
                    obj=team,
                    object_repr=team.name,
                    jurisdiction_path=node.path,
                )
                return redirect("org:team_detail", team_id=team.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "org/team_form.html", {"form": form}, status=status)


@require_POST
@requires(Perm.TEAM_MANAGE, writes=("POST",))
def team_members(request: HttpRequest, team_id: int) -> HttpResponse:
    """Replace a team's members; a templated team must satisfy its composition."""
    from django.utils.translation import gettext as _

    team = selectors.team_for_user(request.user, team_id, write=True)
    form = TeamMembersForm(request.POST)
    members: list[tuple[User, str]] = []
    if form.is_valid():
        visible = selectors.staff_visible(request.user)
        for number, line in enumerate(form.cleaned_data["members"].splitlines(), start=1):
            if not line.strip():
                continue
            username, _sep, slot = (part.strip() for part in line.partition(","))
            profile = visible.filter(user__username=username).first()
            if profile is None:
                form.add_error(
                    "members",
                    _("Line %(n)d: no staff member %(u)s in your jurisdiction.")
                    % {"n": number, "u": username},
                )
            else:
                members.append((profile.user, slot))
        leader_name = form.cleaned_data["leader"].strip()
        leader = visible.filter(user__username=leader_name).first() if leader_name else None
        if leader_name and leader is None:
            form.add_error(
                "leader", _("No staff member %(u)s in your jurisdiction.") % {"u": leader_name}
            )
    if form.is_valid():
        try:
            team_set_members(team=team, members=members, leader=leader.user if leader else None)
        except ValidationError as exc:
            form.add_error("members", exc.messages)
        else:
            audit_record(
                action=AuditAction.UPDATE,
                request=request,
                obj=team,
                object_repr=team.name,
                jurisdiction_path=team.jurisdiction.path,
                detail={"members": len(members)},
            )
            return redirect("org:team_detail", team_id=team.pk)
    from fangkong.org.views import team_detail_context

    context = team_detail_context(request, team) | {"members_form": form}
    return render(request, "org/team_detail.html", context, status=400)
