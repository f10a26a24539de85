"""Pages of periodic and door-to-door testing (thin: the services decide, the selectors
read): the overdue key-occupation workers by employer and grid, with their export and
the chase; a resident's key occupation; the door-to-door routes of a round and of a
sampling team, and sending a team its route as work orders."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.selectors import request_user
from fangkong.audit.services import export_audited
from fangkong.core.forms import bootstrap_widgets
from fangkong.core.masking import mask_name
from fangkong.org.access import object_for_user, requires
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.org.selectors import node_or_top_for_user, team_for_user
from fangkong.people.models import Person
from fangkong.testing import doorstep, periodic, selectors
from fangkong.testing.models_periodic import KeyOccupation, OccupationAssignment
from fangkong.workorders.dispatch import DispatchError


@require_GET
@requires(Perm.TESTING_VIEW)
def overdue_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    node = node_or_top_for_user(user, request.GET.get("node", "")[:40], Perm.TESTING_VIEW)
    rows = periodic.overdue(user, today=timezone.localdate(), node_path=node.path)
    return render(
        request,
        "testing/periodic.html",
        {
            "node": node,
            "rows": [(r, mask_name(r.person.name)) for r in rows[:500]],
            "total": len(rows),
            "employers": periodic.by_employer(rows),
            "grids": periodic.by_grid(rows),
            "occupations": periodic.occupations(),
            "may_chase": has_perm(user, Perm.TESTING_PERIODIC, node.path)
            and has_perm(user, Perm.ORDERS_DISPATCH, node.path),
            "may_export": has_perm(user, Perm.DATA_EXPORT),
        },
    )


@require_GET
@requires(Perm.DATA_EXPORT)
def overdue_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """The overdue list (masked) through the one spreadsheet writer; audited."""
    user = request.user
    node = node_or_top_for_user(user, request.GET.get("node", "")[:40], Perm.TESTING_VIEW)
    rows = periodic.overdue(user, today=timezone.localdate(), node_path=node.path)
    header = [
        _("Employer"),
        _("Occupation"),
        _("Grid"),
        _("Name"),
        _("ID number"),
        _("Last sampled"),
        _("Due on"),
        _("Days overdue"),
    ]
    return export_audited(
        request,
        fmt=fmt,
        basename="overdue",
        header=header,
        body=periodic.export_rows(rows),
        what=f"node {node.code}: key occupations overdue",
        jurisdiction_path=node.path,
        rows=len(rows),
    )


@require_POST
@requires(Perm.TESTING_PERIODIC, writes=("POST",))
def overdue_chase(request: HttpRequest) -> HttpResponse:
    """One tap: the overdue under the node become work orders for their grid workers."""
    user = request_user(request)
    code = request.POST.get("node", "")[:40]
    if not code:
        return HttpResponse(_("Which area? Send it again from the list."), status=400)
    node = node_or_top_for_user(user, code, Perm.TESTING_PERIODIC)
    try:
        orders = periodic.chase_overdue(node=node, actor=user)
    except (ValidationError, DispatchError) as exc:
        return HttpResponse(" ".join(getattr(exc, "messages", [str(exc)])), status=400)
    return render(
        request,
        "testing/periodic_sent.html",
        {"node": node, "count": len(orders)},
    )


class AssignmentForm(forms.Form):
    occupation = forms.ModelChoiceField(
        label=gettext_lazy("Key occupation"), queryset=KeyOccupation.objects.filter(active=True)
    )
    employer = forms.CharField(label=gettext_lazy("Employer"), max_length=100)
    since = forms.DateField(label=gettext_lazy("Since"), required=False)


bootstrap_widgets(AssignmentForm)


@require_http_methods(["GET", "POST"])
@requires(Perm.TESTING_PERIODIC, writes=("POST",))
def person_occupation(request: HttpRequest, person_id: int) -> HttpResponse:
    """A resident's key occupation and employer."""
    user = request_user(request)
    person = object_for_user(
        Person.objects.select_related("jurisdiction"),
        user,
        Perm.TESTING_PERIODIC,
        write=Perm.TESTING_PERIODIC if request.method == "POST" else None,
        pk=person_id,
    )
    current = (
        OccupationAssignment.objects.filter(person=person).select_related("occupation").first()
    )
    form = AssignmentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                current = periodic.assignment_set(
                    person=person,
                    occupation=form.cleaned_data["occupation"],
                    employer=form.cleaned_data["employer"],
                    since=form.cleaned_data["since"],
                    actor=user,
                )
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
                status = 400
        else:
            status = 400
    return render(
        request,
        "testing/periodic_person.html",
        {"person": person, "name": mask_name(person.name), "current": current, "form": form},
        status=status,
    )


@require_GET
@requires(Perm.TESTING_SAMPLE)
def round_doorstep(request: HttpRequest, round_id: int) -> HttpResponse:
    """A round's door-to-door residents in the user's area, by village and grid."""
    user = request.user
    round_ = selectors.round_for_user(user, round_id, Perm.TESTING_SAMPLE)
    people = doorstep.doorstep_people(round_, user=user, perm=Perm.TESTING_SAMPLE)
    return render(
        request,
        "testing/doorstep.html",
        {
            "round": round_,
            "groups": doorstep.route(people),
            "team": None,
            "teams": doorstep.teams_for(round_, user, Perm.TESTING_SAMPLE),
        },
    )


@require_GET
@requires(Perm.TESTING_SAMPLE)
def team_doorstep(request: HttpRequest, team_id: int) -> HttpResponse:
    """A sampling team's route: the door-to-door residents under its home node, for the
    round named (`?round=`) or the latest open round over it."""
    user = request.user
    team = team_for_user(user, team_id, Perm.TESTING_SAMPLE)
    round_ = doorstep.team_round(user, team, Perm.TESTING_SAMPLE, request.GET.get("round", ""))
    groups = (
        doorstep.route(
            doorstep.doorstep_people(
                round_, user=user, perm=Perm.TESTING_SAMPLE, node_path=team.jurisdiction.path
            )
        )
        if round_
        else []
    )
    return render(
        request,
        "testing/doorstep.html",
        {
            "round": round_,
            "groups": groups,
            "team": team,
            "may_send": has_perm(user, Perm.TESTING_MANAGE, team.jurisdiction.path)
            and has_perm(user, Perm.ORDERS_DISPATCH, team.jurisdiction.path),
        },
    )


@require_POST
@requires(Perm.TESTING_MANAGE, writes=("POST",))
def team_doorstep_send(request: HttpRequest, team_id: int) -> HttpResponse:
    """The team's route as urgent work orders for its members (the round in the form)."""
    user = request_user(request)
    team = team_for_user(user, team_id, Perm.TESTING_MANAGE)
    text = request.POST.get("round", "")
    round_ = doorstep.team_round(user, team, Perm.TESTING_MANAGE, text) if text else None
    if round_ is None:
        return HttpResponse(_("Which round? Send it again from the route."), status=400)
    try:
        orders = doorstep.route_send(round_=round_, team=team, actor=user)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400)
    return render(
        request,
        "testing/periodic_sent.html",
        {"node": team.jurisdiction, "count": len(orders), "team": team},
    )
