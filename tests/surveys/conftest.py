"""Fixtures of the respondent-side tests: small purpose-built surveys and a fresh client address."""

from __future__ import annotations

import copy
import uuid

import pytest

from tests.surveys import helpers


@pytest.fixture
def all_types_definition() -> dict:
    return copy.deepcopy(helpers.ALL_TYPES_DEFINITION)


@pytest.fixture
def all_types_survey(db, all_types_definition):  # type: ignore[no-untyped-def]
    from surveys.definitions.transfer import survey_import

    return survey_import(definition=all_types_definition)


@pytest.fixture
def skip_logic_survey(db):  # type: ignore[no-untyped-def]
    from surveys.definitions.transfer import survey_import

    return survey_import(definition=copy.deepcopy(helpers.SKIP_LOGIC_DEFINITION))


@pytest.fixture
def client_address() -> str:
    """A client address no earlier test used.

    Rate-limit counters are keyed by address and window, so a fresh address starts at zero with
    any cache backend; flushing the cache instead would also wipe a shared Redis (the broker).
    """
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
