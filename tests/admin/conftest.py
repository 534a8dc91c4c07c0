"""Admin fixtures: the default survey with responses and codings, one account per role."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from surveys.models import Answer, Question, Response, Survey, SurveyRole
from tests.factories import ResponseFactory

ROLES = ["owner", "editor", "viewer", "coder"]
EVIL = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"


@dataclass
class Accounts:
    users: dict[str, object]

    def client(self, who: str) -> Client:
        client = Client()
        if who != "anonymous":
            client.force_login(self.users[who])
        return client


@pytest.fixture
def survey(default_survey) -> Survey:  # type: ignore[no-untyped-def]
    return default_survey


@pytest.fixture
def accounts(db, survey) -> Accounts:  # type: ignore[no-untyped-def]
    model = get_user_model()
    users: dict[str, object] = {}
    for role in ROLES:
        users[role] = model.objects.create_user(role, password="pw", is_staff=True)
        SurveyRole.objects.create(survey=survey, user=users[role], role=role)
    users["stranger"] = model.objects.create_user("stranger", password="pw", is_staff=True)
    users["superuser"] = model.objects.create_superuser("root", password="pw")
    return Accounts(users)


def answer(response: Response, code: str, **values: object) -> Answer:
    question = Question.objects.get(survey=response.survey, code=code)
    return Answer.objects.create(response=response, question=question, **values)


OCCUPATIONS = ["2655", "2166", "2654"]  # actors, graphic designers, film directors


def make_responses(survey: Survey, count: int, *, days: int = 3) -> list[Response]:
    """Submitted responses with an occupation, a country and both free-text answers."""
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(days=days)
    responses = []
    for n, occupation in zip(range(count), itertools.cycle(OCCUPATIONS), strict=False):
        moment = start + timedelta(days=n % days, minutes=n)
        response = ResponseFactory(
            survey=survey,
            status=Response.Status.COMPLETE,
            started_at=moment,
            submitted_at=moment + timedelta(minutes=9),
            page_seconds={"1": 200 + n, "2": 300},
        )
        answer(response, "occupation", choice=occupation)
        answer(response, "country", choice="DE" if n % 2 else "CN")
        answer(response, "change_text", text=f"I lost a client, number {n}")
        answer(response, "protect_text", text="consent before cloning my voice")
        responses.append(response)
    return responses


def code_responses(responses: list[Response], risk: list[str], concerns: list[list[str]]) -> None:
    """Classification rows as the classifier would leave them (status done)."""
    from classifier.models import Classification, Codebook
    from classifier.training.codebooks import codebooks_install

    codebooks_install()  # a transactional test elsewhere may have flushed the migration's rows
    displacement = Codebook.objects.get(slug="displacement-risk")
    concern_book = Codebook.objects.get(slug="concerns")
    for response, label, labels in zip(responses, risk, concerns, strict=True):
        change = response.answers.get(question__code="change_text")
        protect = response.answers.get(question__code="protect_text")
        Classification.objects.create(
            answer=change,
            codebook=displacement,
            status="done",
            labels=[label],
            model_labels=[label],
            confidence=0.9,
            review_status="auto_coded",
        )
        Classification.objects.create(
            answer=protect,
            codebook=concern_book,
            status="done",
            labels=labels,
            model_labels=labels,
            confidence=0.8,
            review_status="needs_review",
        )
