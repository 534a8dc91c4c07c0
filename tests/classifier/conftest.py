"""Classifier fixtures: a small seed corpus, models trained once per session, responses."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from classifier import pipeline
from config.celery import app as celery_app

# A small corpus with clear signal per code, so that training takes seconds, not minutes.
DISPLACEMENT = {
    "displaced": [
        "I lost my biggest client last year to AI generated video",
        "the studio laid me off and replaced the whole team with generators",
        "my bookings dried up completely once clients switched to Sora",
        "I already lost most of my income, the agency dropped me",
    ],
    "substitution": [
        "the tools can already do the core of my job and rates will fall",
        "I expect to be replaced soon because a prompt delivers the same shot",
        "clients will not pay for what a generator produces in seconds",
        "my rates are going to collapse as the software does my work",
    ],
    "augmentation": [
        "I use these tools every day for previs and they speed me up",
        "the tools change my workflow but clients still need my eye",
        "I adopted generative tools for drafts and I am busier than ever",
        "it is a helpful assistant for mood boards while I direct",
    ],
    "not-exposed": [
        "I perform live on stage and no machine can stand in the room",
        "my craft is hand built puppets and physical sets",
        "my work rests on relationships with families at weddings",
        "I work as a live theatre performer in front of an audience",
    ],
    "uncodeable": [
        "no idea",
        "asdf",
        "n/a nothing to say",
        "pass, skip this one",
    ],
}
CONCERNS = {
    "income": ["fees keep being cut", "minimum day rates for freelancers", "my pay has fallen"],
    "likeness": ["consent before cloning my voice", "deepfakes of my face", "digital replicas"],
    "copyright": ["they trained on my portfolio", "copyright for scraped art", "licensing my work"],
    "quality": ["the output looks soulless", "authentic human craft", "quality is getting worse"],
    "misinformation": ["fake news videos", "ethics of manipulation", "propaganda clips"],
    "skills": ["retraining programmes", "juniors cannot learn the craft", "new skills courses"],
    "energy": ["the energy use is huge", "carbon footprint of data centres", "water and power"],
}
SUFFIXES = ["", " honestly", " and that worries me", " in my experience"]


def _displacement_rows() -> list[tuple[str, str]]:
    rows = []
    for label, texts in DISPLACEMENT.items():
        for text, suffix in itertools.product(texts, SUFFIXES[:3]):
            rows.append((f"{text}{suffix}", label))
    return rows


def _concern_rows() -> list[tuple[str, str]]:
    rows = []
    labels = list(CONCERNS)
    for label, texts in CONCERNS.items():
        for text, suffix in itertools.product(texts, SUFFIXES[:2]):
            rows.append((f"{text}{suffix}", label))
    for first, second in itertools.pairwise(labels):
        rows.append((f"{CONCERNS[first][0]} and {CONCERNS[second][1]}", f"{first};{second}"))
        rows.append((f"{CONCERNS[first][2]}, also {CONCERNS[second][0]}", f"{first};{second}"))
    return rows


def write_csv(path: Path, header: list[str], rows: Sequence[tuple[str, ...]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session")
def seed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("seed")
    write_csv(root / "displacement-risk" / "en.csv", ["text", "label"], _displacement_rows())
    write_csv(root / "concerns" / "en.csv", ["text", "labels"], _concern_rows())
    return root


@dataclass(frozen=True)
class Artifact:
    path: Path
    checksum: str
    model: pipeline.TextClassifier


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> dict[str, Artifact]:
    """One trained model per codebook for the whole session (pipeline only, no database)."""
    out = tmp_path_factory.mktemp("artifacts")
    result = {}
    for slug, column, multilabel in [
        ("displacement-risk", "label", False),
        ("concerns", "labels", True),
    ]:
        texts, labels = pipeline.read_labelled_csv(
            seed_dir / slug / "en.csv", label_column=column, multilabel=multilabel
        )
        model = pipeline.train(texts, labels, multilabel=multilabel, codebook=slug, folds=3)
        path = out / f"{slug}-session.joblib"
        result[slug] = Artifact(path, pipeline.save(model, path), model)
    return result


@pytest.fixture(autouse=True)
def classifier_settings(settings, tmp_path: Path, seed_dir: Path) -> Iterator[None]:
    settings.EXPOSURE_MODEL_DIR = tmp_path / "models"
    settings.EXPOSURE_SEED_DIR = seed_dir
    # No audit sample unless a test asks for one (tests/classifier/audit set their own).
    settings.EXPOSURE_AUDIT_SHARE = 0.0
    settings.EXPOSURE_AUDIT_MIN = 0
    from classifier.training import selectors

    selectors._MODEL_CACHE.clear()
    yield
    selectors._MODEL_CACHE.clear()


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


@pytest.fixture
def shipped_codebooks(db):
    """The shipped codebooks, also after a transactional test flushed the migration's rows."""
    from classifier.training.codebooks import codebooks_install

    codebooks_install()


@pytest.fixture
def active_models(db, artifacts: dict[str, Artifact]):
    """An active ModelVersion per shipped codebook, pointing at the session's artifacts.

    Here both codebooks code both classify questions, so that the mechanics tests see two
    codebooks per answer; the shipped one-question scope is tested in tests/classifier/audit.
    """
    from classifier.models import Codebook, ModelVersion

    Codebook.objects.update(question_codes=[])
    versions = {}
    for slug, artifact in artifacts.items():
        meta = artifact.model.metadata
        versions[slug] = ModelVersion.objects.create(
            codebook=Codebook.objects.get(slug=slug),
            version=1,
            artifact_path=str(artifact.path),
            checksum=artifact.checksum,
            threshold=artifact.model.threshold,
            metrics=meta["metrics"],
            training_size=meta["training_size"],
            sklearn_version=meta["sklearn_version"],
            is_active=True,
        )
    return versions


def submit(survey, texts: dict[str, str], language: str = "en"):
    """Start, fill and complete a response via the surveys services; returns (response, receipt)."""
    from surveys.models import Page
    from surveys.respondent.services import (
        PageValue,
        response_complete,
        response_save_page,
        response_start,
    )

    response, _ = response_start(survey=survey, language=language)
    for page in Page.objects.filter(survey=survey, questions__code__in=list(texts)).distinct():
        values = {
            code: PageValue(text)
            for code, text in texts.items()
            if page.questions.filter(code=code).exists()
        }
        response_save_page(response=response, page=page, values=values)
    receipt = response_complete(response=response)
    return response, receipt


@pytest.fixture
def submitted(default_survey, active_models, django_capture_on_commit_callbacks):
    """Submit one response with both classify answers and run the on-commit hand-off."""

    def _submit(
        change: str = "I lost my biggest client last year to AI generated video",
        protect: str = "consent before cloning my voice",
    ):
        with django_capture_on_commit_callbacks(execute=True):
            return submit(default_survey, {"change_text": change, "protect_text": protect})

    return _submit


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """Run the sweep task as beat would, with its on-commit enqueues executed."""
    from classifier.runs import tasks

    def _sweep() -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            return tasks.sweep()

    return _sweep
