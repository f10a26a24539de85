"""The page where an administrator manages machine clients' API keys: list those of the
area, issue one (its key shown once) and revoke one. The same services as the API's
`/org/clients` (org.clients): the checks (permissions never beyond the issuer's at the
node, no key issues keys) and the audit records live there, not here."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from fangkong.core.forms import add_validation_errors
from fangkong.org import selectors
from fangkong.org.access import requires
from fangkong.org.clients import api_client_issue, api_client_revoke
from fangkong.org.forms import ApiClientForm, node_from_form
from fangkong.org.roles import PERM_LABELS, Perm


def _labels(perms: list[str]) -> list[str]:
    return [str(PERM_LABELS[Perm(p)]) if p in Perm._value2member_map_ else p for p in perms]


@require_http_methods(["GET", "POST"])
@requires(Perm.CLIENTS_MANAGE, writes=("POST",))
def client_list(request: HttpRequest) -> HttpResponse:
    """The keys issued in the user's area (never their secrets) and the form to issue
    one. A new key is shown on the answer to the form and nowhere else, ever."""
    form = ApiClientForm(request.POST or None, initial={"node": request.GET.get("node", "")})
    if request.method == "POST" and form.is_valid():
        node = node_from_form(form, request.user, Perm.CLIENTS_MANAGE)
        if node is not None:
            data = form.cleaned_data
            try:
                issued = api_client_issue(
                    issuer=request.user,
                    name=data["name"],
                    node=node,
                    perms=data["perms"],
                    days=data["days"],
                )
            except ValidationError as exc:
                add_validation_errors(form, exc)
            else:
                context = {
                    "client": issued.client,
                    "key": issued.key,
                    "labels": _labels(issued.client.perms),
                }
                return render(request, "org/client_issued.html", context)
    page = Paginator(selectors.clients_visible(request.user), 50).get_page(request.GET.get("page"))
    rows = [(c, _labels(c.perms)) for c in page]
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "page": page, "rows": rows, "now": timezone.now()}
    return render(request, "org/client_list.html", context, status=status)


@require_POST
@requires(Perm.CLIENTS_MANAGE, writes=("POST",))
def client_revoke(request: HttpRequest, client_id: int) -> HttpResponse:
    """Revoke a key at once; revoking a revoked key changes nothing."""
    client = selectors.api_client_for_user(request.user, client_id, write=True)
    api_client_revoke(client=client, by=request.user)
    return redirect("org:client_list")
