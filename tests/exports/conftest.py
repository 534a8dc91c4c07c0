"""Export fixtures: researchers with roles, a small population with tricky text, classifications."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client

from config.celery import app as celery_app
from surveys.models import Page, Response, Survey, SurveyRole
from surveys.respondent import services

PASSWORD = "a long pass phrase 1"
FORMULA = "=cmd|' /C calc'!A0"
SCRIPT = "<script>alert('x')</script> & <b>bold</b>"
CHINESE = "客户现在要求用AI做预演，不再需要分镜。"
CHINESE_PROTECT = "禁止用我的作品训练模型，也不能克隆我的声音"


@pytest.fixture(autouse=True)
def export_dir(request: pytest.FixtureRequest, settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Each test writes its exports into its own directory (not for a real worker's test)."""
    if request.node.get_closest_marker("worker"):
        return Path(django_settings.EXPORT_DIR)
    settings.EXPORT_DIR = tmp_path / "exports"
    return settings.EXPORT_DIR


@pytest.fixture(autouse=True)
def _eager_unless_worker(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tasks run in-process except in real-worker tests, so nothing leaks onto a shared broker."""
    if request.node.get_closest_marker("worker"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


@dataclass
class People:
    owner: Any
    editor: Any
    viewer: Any
    viewer2: Any
    coder: Any
    other: Any
    superuser: Any


@pytest.fixture
def people(db, default_survey: Survey) -> People:  # type: ignore[no-untyped-def]
    User = get_user_model()
    made: dict[str, Any] = {}
    for name, role in [
        ("owner", "owner"),
        ("editor", "editor"),
        ("viewer", "viewer"),
        ("viewer2", "viewer"),
        ("coder", "coder"),
    ]:
        user = User.objects.create_user(f"exp-{name}", password=PASSWORD)
        SurveyRole.objects.create(survey=default_survey, user=user, role=role)
        made[name] = user
    made["other"] = User.objects.create_user("exp-other", password=PASSWORD)
    made["superuser"] = User.objects.create_superuser(
        "exp-root", password=PASSWORD, email="root@example.org"
    )
    return People(**made)


def client_for(user: Any = None) -> Client:
    client = Client(REMOTE_ADDR=f"2001:db8::{uuid.uuid4().hex[:4]}")
    if user is not None:
        client.force_login(user)
    return client


def respond(
    survey: Survey, answers: dict[str, Any], *, language: str = "en", complete: bool = True
) -> Response:
    """One respondent through the survey services: start, save each page, submit."""
    response, _token = services.response_start(survey=survey, language=language)
    for page in Page.objects.filter(survey=survey).order_by("position"):
        codes = set(page.questions.values_list("code", flat=True))
        values = {code: services.PageValue(v) for code, v in answers.items() if code in codes}
        if values:
            response = services.response_save_page(
                response=response, page=page, values=values, seconds=30
            )
    if complete:
        services.response_complete(response=response)
    response.refresh_from_db()
    return response


ENGLISH_ANSWERS: dict[str, Any] = {
    "occupation": "2655",
    "employment_type": "freelance",
    "union_member": "no",
    "country": "CN",
    "years_experience": "12",
    "income_band": "25k_50k",
    "tools_used": ["runway", "kling"],
    "exposure_matrix": {"tasks_doable": "4", "rates_fallen": "2"},
    "outlook_5y": "3",
    "lost_work": True,
    "gained_work": False,
    "loss_share": "10_25",
    "lost_work_types": ["advertising"],
    "change_text": FORMULA,
    "protect_text": SCRIPT,
    "anything_else": "+1",
}
CHINESE_ANSWERS: dict[str, Any] = {
    "employment_type": "staff",
    "country": "US",
    "years_experience": "3.5",
    "tools_used": ["sora"],
    "lost_work": False,
    "change_text": CHINESE,
    "protect_text": CHINESE_PROTECT,
    "anything_else": "-2",
}


@dataclass
class Population:
    survey: Survey
    english: Response
    chinese: Response
    unfinished: Response

    @property
    def complete(self) -> list[Response]:
        return [self.english, self.chinese]


def classify(response: Response, question: str, slug: str, labels: list[str], **extra: Any):  # type: ignore[no-untyped-def]
    """A finished model classification of one answer, written straight to the classifier's table."""
    from classifier.models import Classification, Codebook
    from surveys.models import Answer

    return Classification.objects.create(
        answer=Answer.objects.get(response=response, question__code=question),
        codebook=Codebook.objects.get(slug=slug),
        status=Classification.Status.DONE,
        labels=labels,
        model_labels=labels,
        **extra,
    )


@pytest.fixture
def population(default_survey: Survey, people: People) -> Population:
    """Two complete responses (English with formula/HTML text, Chinese) and one unfinished."""
    from classifier.training.codebooks import codebooks_install

    codebooks_install()  # a transactional test elsewhere may have flushed the shipped codebooks
    english = respond(default_survey, ENGLISH_ANSWERS)
    chinese = respond(default_survey, CHINESE_ANSWERS, language="zh-hans")
    unfinished = respond(default_survey, {"employment_type": "agency"}, complete=False)
    classify(
        english,
        "change_text",
        "displacement-risk",
        ["displaced"],
        confidence=0.87,
        review_status="auto_coded",
    )
    classify(
        chinese,
        "change_text",
        "displacement-risk",
        ["augmentation"],
        confidence=0.55,
        review_status="needs_review",
    )
    classify(
        english,
        "protect_text",
        "concerns",
        ["likeness", "copyright"],
        confidence=0.7,
        review_status="reviewed",
    )
    return Population(default_survey, english, chinese, unfinished)


def unzip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def streamed(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def downloaded(response: Any) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def run_export(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Request an export through the service and let its on-commit task run (eagerly)."""
    from surveys.exports import services as export_services

    def _run(user: Any, survey: Survey, **options: Any):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            job = export_services.export_request(user=user, survey=survey, **options)
        job.refresh_from_db()
        return job

    return _run


def question(definition: dict, code: str) -> dict:
    """A question of a survey definition (JSON), looked up independently of the database."""
    for page in definition["pages"]:
        for item in page["questions"]:
            if item["code"] == code:
                return item
    raise KeyError(code)


def choice_label(definition: dict, code: str, choice: str, language: str) -> str:
    return next(
        c["label"][language] for c in question(definition, code)["choices"] if c["code"] == choice
    )
