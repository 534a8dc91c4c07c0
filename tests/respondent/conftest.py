"""Fixtures of the respondent tests: the three-page survey, open and by invitation."""

from __future__ import annotations

import copy

import pytest

from surveys.definitions.transfer import survey_import
from surveys.models import Survey
from tests.respondent.helpers import THREE_PAGES


@pytest.fixture
def survey(db) -> Survey:  # type: ignore[no-untyped-def]
    return survey_import(definition=copy.deepcopy(THREE_PAGES))


@pytest.fixture
def invited_survey(db) -> Survey:  # type: ignore[no-untyped-def]
    definition = {**copy.deepcopy(THREE_PAGES), "slug": "invited", "invitation_only": True}
    return survey_import(definition=definition)
