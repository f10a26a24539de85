"""Rendered fragments remembered by what they show.

A fragment whose output is a pure function of a few values (a worker's task list: the
counts, the page and each order's shown fields) is rendered once per distinct value set
and kept in the process's cache. The key is a digest of those values, so nothing has
to be invalidated: an order that changes, a task that becomes late or a new day gives
new values and so a new key. Callers list every value the fragment reads; the user
and the language are always part of the key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import translation

# Long enough to serve a worker's repeated visits, short enough that a process keeps
# few stale entries (the cache's own culling bounds the rest).
TIMEOUT_SECONDS = 600


def memo_key(template_name: str, user_id: int | None, inputs: Any) -> str:
    payload = repr((template_name, translation.get_language(), user_id, inputs))
    digest = hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()
    return f"fk:memo:{digest}"


def render_memo(
    request: HttpRequest, template_name: str, context: Mapping[str, Any], inputs: Any
) -> str:
    """`template_name` rendered with `context`, or the same output remembered for the
    same `inputs` (everything the fragment reads from `context`)."""
    key = memo_key(template_name, getattr(request.user, "pk", None), inputs)
    html = cache.get(key)
    if html is None:
        html = render_to_string(template_name, dict(context), request)
        cache.set(key, html, TIMEOUT_SECONDS)
    return str(html)
