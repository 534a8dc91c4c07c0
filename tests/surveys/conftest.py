"""Fixtures of the respondent-side tests (the surveys they walk are in tests/conftest.py)."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def client_address() -> str:
    """A client address no earlier test used.

    Rate-limit counters are keyed by address and window, so a fresh address starts at zero with
    any cache backend; flushing the cache instead would also wipe a shared Redis (the broker).
    """
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
