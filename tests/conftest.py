from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client

from tests.world import PASSWORD, World, build_world


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # PBKDF2 at production strength would dominate the suite's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
