from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client, override_settings
from django.utils import translation

from tests.world import PASSWORD, World, build_world


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # PBKDF2 at production strength would dominate the suite's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    # A request with another language's cookie leaves that language active in the
    # thread; the next test would read its messages in it.
    yield
    translation.deactivate()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium per browser test module (each calls `require_browser()` first)."""
    from tests.browser_support import launched_browser

    with launched_browser() as instance:
        yield instance


@pytest.fixture(autouse=True, scope="session")
def _static_from_the_sources() -> Iterator[None]:
    """Pages link the static files by their source names, as with FANGKONG_DEBUG: the
    hashed names exist only after `collectstatic`, which a test run does not need. The
    hashed, compressed serving of the demo and production is tested on its own
    (tests/test_static_assets.py, and the page weight in tests/test_phone_pages.py)."""
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    default = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    with override_settings(
        STORAGES={"default": default, "staticfiles": plain}, WHITENOISE_USE_FINDERS=True
    ):
        yield


@pytest.fixture
def frozen_clock() -> Iterator[Any]:
    """The rate limits count in fixed windows: a test that crossed a window's end would
    see its counter start again. Time stands still for the tests that count."""
    from unittest import mock

    from django.utils import timezone

    now = timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=now):
        yield now


@pytest.fixture
def world(db) -> World:
    return build_world(password_hash=make_password(PASSWORD))


@pytest.fixture
def login(world):
    """login("gw_a1") -> a Client signed in as that persona (anonymous: a plain Client)."""

    def make(persona: str) -> Client:
        client = Client()
        if persona != "anonymous":
            client.force_login(world.users[persona])
        return client

    return make
