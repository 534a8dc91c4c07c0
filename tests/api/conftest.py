"""API fixtures: one user per role on the default survey, token clients, the test population."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from surveys.models import Response, Survey, SurveyRole
from tests.api import helpers

ROLES = ["owner", "editor", "coder", "viewer"]


@pytest.fixture(autouse=True)
def _private_throttle_counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocMemCache]:
    """Throttle counters of this test only, in memory.

    The PostgreSQL leg's cache is a shared Redis that must not be flushed; counters kept there
    would add up over test runs (user ids restart with each test database) and end in 429s.
    """
    cache = LocMemCache(f"api-throttle-{id(monkeypatch)}", {})
    monkeypatch.setattr(SimpleRateThrottle, "cache", cache)
    yield cache
    cache.clear()


@dataclass
class People:
    owner: Any
    editor: Any
    coder: Any
    viewer: Any
    other: Any
    superuser: Any

    def by_name(self, name: str) -> Any:
        return None if name == "anonymous" else getattr(self, name)


def make_people(survey: Survey) -> People:
    """A user for each role on `survey`, a user with no role and a superuser."""
    User = get_user_model()
    made = {}
    for role in ROLES:
        user = User.objects.create_user(f"api-{role}", password="a long pass phrase 1")
        SurveyRole.objects.create(survey=survey, user=user, role=role)
        made[role] = user
    made["other"] = User.objects.create_user("api-other", password="a long pass phrase 1")
    made["superuser"] = User.objects.create_superuser(
        "api-root", password="a long pass phrase 1", email="root@example.org"
    )
    return People(**made)


@pytest.fixture
def people(db, default_survey: Survey) -> People:  # type: ignore[no-untyped-def]
    return make_people(default_survey)


@pytest.fixture
def client_of(people: People) -> Callable[[str], APIClient]:
    def make(name: str) -> APIClient:
        return helpers.token_client(people.by_name(name))

    return make


@pytest.fixture
def owner_client(client_of: Callable[[str], APIClient]) -> APIClient:
    return client_of("owner")


def build_population(survey: Survey) -> list[dict[str, Any]]:
    """The 60-respondent population, answered through the services; classifications coded."""
    from classifier.models import Classification, Codebook
    from classifier.training.codebooks import codebooks_install
    from surveys.models import Answer

    codebooks_install()  # a transactional test elsewhere may have flushed the shipped codebooks
    codebook = Codebook.objects.get(slug="displacement-risk")
    people_data = helpers.population()
    coded = []
    for person in people_data:
        response = helpers.respond(survey, person["answers"], language=person["language"])
        person["response"] = response
        if person["displacement"]:
            answer = Answer.objects.get(response=response, question__code="change_text")
            coded.append(
                Classification(
                    answer=answer,
                    codebook=codebook,
                    status=Classification.Status.DONE,
                    labels=[person["displacement"]],
                    model_labels=[person["displacement"]],
                    confidence=0.9,
                    review_status=Classification.ReviewStatus.AUTO_CODED,
                )
            )
    Classification.objects.bulk_create(coded)
    # One respondent who never finished: excluded unless status says otherwise.
    helpers.respond(survey, {"employment_type": "other"}, complete=False)
    assert Response.objects.filter(survey=survey).count() == len(people_data) + 1
    return people_data


@pytest.fixture
def populated(default_survey: Survey, people: People) -> list[dict[str, Any]]:
    return build_population(default_survey)


@pytest.fixture
def all_types_survey_for_api(db, people: People) -> Survey:  # type: ignore[no-untyped-def]
    """A second survey (every question type) on which the API test users hold no role."""
    import copy

    from surveys.definitions.transfer import survey_import
    from tests.surveys.helpers import ALL_TYPES_DEFINITION

    definition = copy.deepcopy(ALL_TYPES_DEFINITION)
    definition["status"] = "open"
    return survey_import(definition=definition)
