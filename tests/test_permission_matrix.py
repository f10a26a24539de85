"""Every route against every persona: nobody reads or writes outside scope or permission."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import include, path

from fangkong.org.access import requires
from fangkong.org.models import StaffProfile
from fangkong.org.roles import Perm
from tests.api_keys import KEY_PERSONAS, KeyClient, issue_persona_key
from tests.matrix import PERSONA_NAMES, run_matrix, view_routes


@pytest.fixture
def clients(world, settings):
    # The matrix calls every operation many times a minute with each key.
    settings.FANGKONG_API_KEY_RATE = 10**6
    out: dict[str, Client] = {}
    for persona in PERSONA_NAMES:
        if persona in KEY_PERSONAS:
            out[persona] = KeyClient(issue_persona_key(world, persona).key)
            continue
        client = Client()
        if persona != "anonymous":
            client.force_login(world.users[persona])
        out[persona] = client
    return out


def test_every_route_declares_access():
    routes, problems = view_routes()
    assert not problems, problems
    assert len(routes) >= 10


@pytest.mark.django_db
def test_permission_matrix(world, clients):
    problems = run_matrix(world, clients)
    assert not problems, "\n".join(problems)


# A deliberately unscoped view, reachable only through the URLconf below: the matrix
# must catch it, or the matrix proves nothing.
@requires(Perm.ORG_VIEW)
def leaky_staff_names(request):
    from django.http import HttpResponse

    return HttpResponse(", ".join(StaffProfile.objects.values_list("name", flat=True)))


# The edition page as it was: the permission checked somewhere, the object anywhere. The
# commander of one town read and renamed another town's local edition through it.
@requires(Perm.RULES_MANAGE, writes=("POST",))
def unscoped_edition(request, edition_id):
    from django.http import HttpResponse
    from django.shortcuts import get_object_or_404

    from fangkong.policy.models import Edition

    edition = get_object_or_404(Edition, pk=edition_id)
    if request.method == "POST":
        edition.name = request.POST.get("name", edition.name)
        edition.save()
    return HttpResponse(edition.name)


def undeclared_view(request):
    from django.http import HttpResponse

    return HttpResponse("ok")


urlpatterns = [
    path("", include("fangkong.urls")),
    path("leak/", leaky_staff_names, name="leak"),
    path("leaky-edition/<int:edition_id>/", unscoped_edition, name="leaky_edition"),
    path("undeclared/", undeclared_view, name="undeclared"),
]


@pytest.mark.django_db
def test_matrix_catches_an_unscoped_view(world, clients, settings):
    settings.ROOT_URLCONF = __name__
    problems = run_matrix(world, clients, urlconf=__name__)
    leak = [p for p in problems if "/leak/" in p]
    assert any("gw_a1" in p and "outside the persona's scope" in p for p in leak), problems
    assert any("undeclared" in p and "declares no access" in p for p in problems), problems
    # The other town's commander reads this town's local edition: caught.
    from tests.matrix_policy import ensure_editions

    theirs = ensure_editions(world)["T"]
    edition = [p for p in problems if f"/leaky-edition/{theirs.pk}/" in p]
    assert any("as commander_u: expected a refusal" in p for p in edition), problems
    # The real routes stay clean inside the same run.
    assert all("/leak/" in p or "undeclared" in p or "/leaky-edition/" in p for p in problems), (
        problems
    )
