"""Shared fixtures: a stand-in of one vendor on a loopback port, and a unique record name."""

from __future__ import annotations

import os
import sys
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from standins.core import Server, load_vendor  # noqa: E402


@pytest.fixture
def standin():
    """``standin(vendor, **options)`` starts a stand-in; every one is stopped (and its rrsets
    removed from PowerDNS) when the test ends."""
    started = []

    def start(vendor: str, **options: str) -> Server:
        server = Server(load_vendor(vendor), options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def label() -> str:
    """A label no other test uses."""
    return f"t{uuid.uuid4().hex[:12]}"
