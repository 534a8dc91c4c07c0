"""Each listed task is classified on its own, by the task-exposure codebook only."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from classifier import pipeline
from classifier.models import Classification, Codebook, ModelVersion
from classifier.training.data import codebook_training_data, stratified_sample
from tests.classifier.conftest import submit

TASKS = {
    "E0": ["operate the camera crane on set", "fit costumes on actors", "rig stage lights"],
    "E1": ["write the voice-over script", "translate the subtitles", "draft emails to clients"],
    "E2": ["retouch product photos", "keep the budget records", "prepare storyboards"],
}


@pytest.fixture
def task_model(db, tmp_path: Path, shipped_codebooks) -> ModelVersion:  # type: ignore[no-untyped-def]
    rows = [
        (f"{text}{suffix}", label)
        for label, texts in TASKS.items()
        for text, suffix in itertools.product(texts, ["", " every week", " for the team"])
    ]
    model = pipeline.train(
        [t for t, _ in rows], [lab for _, lab in rows], codebook="task-exposure", folds=3
    )
    path = tmp_path / "task-exposure.joblib"
    checksum = pipeline.save(model, path)
    meta = model.metadata
    return ModelVersion.objects.create(
        codebook=Codebook.objects.get(slug="task-exposure"),
        version=1,
        artifact_path=str(path),
        checksum=checksum,
        threshold=model.threshold,
        metrics=meta["metrics"],
        training_size=meta["training_size"],
        sklearn_version=meta["sklearn_version"],
        is_active=True,
    )


def test_each_task_line_gets_its_own_task_exposure_row(  # type: ignore[no-untyped-def]
    default_survey, active_models, task_model, django_capture_on_commit_callbacks
):
    lines = ["write the voice-over script", "operate the camera crane on set", "整理预算表"]
    with django_capture_on_commit_callbacks(execute=True):
        submit(default_survey, {"main_tasks": lines, "change_text": "I lost my biggest client"})
    on_tasks = Classification.objects.filter(answer__question__code="main_tasks")
    assert sorted(on_tasks.values_list("answer__row", "codebook__slug")) == [
        ("1", "task-exposure"),
        ("2", "task-exposure"),
        ("3", "task-exposure"),
    ]
    assert set(on_tasks.values_list("status", flat=True)) == {"done"}
    assert all(labels[0] in TASKS for labels in on_tasks.values_list("labels", flat=True))
    on_change = Classification.objects.filter(answer__question__code="change_text")
    # Each shipped codebook codes the question it was written for.
    assert sorted(on_change.values_list("codebook__slug", flat=True)) == ["displacement-risk"]


def test_the_shipped_seed_corpus_is_valid_and_sampled_by_label(settings, shipped_codebooks):  # type: ignore[no-untyped-def]
    settings.EXPOSURE_SEED_DIR = Path(__file__).resolve().parents[3] / "classifier" / "data"
    settings.EXPOSURE_SEED_MAX_TEXTS = 600
    data = codebook_training_data(codebook=Codebook.objects.get(slug="task-exposure"))
    sources = data.sources
    assert sources["seed:en.csv (stratified sample)"] == pytest.approx(600, abs=3)
    assert sources["seed:zh-hans.csv"] >= 40  # small files are kept whole
    assert set(data.labels) == {"E0", "E1", "E2"}


def test_stratified_sample_keeps_shares_and_is_repeatable() -> None:
    labels = ["E0"] * 60 + ["E1"] * 30 + ["E2"] * 10
    texts = [f"t{i}" for i in range(100)]
    first = stratified_sample(texts, labels, size=20)
    assert first == stratified_sample(texts, labels, size=20)
    assert [first[1].count(code) for code in ("E0", "E1", "E2")] == [12, 6, 2]


def test_answers_queued_later_follow_the_same_routing(  # type: ignore[no-untyped-def]
    default_survey, django_capture_on_commit_callbacks, shipped_codebooks
):
    from classifier.runs.services import classifications_create_missing

    with django_capture_on_commit_callbacks(execute=True):
        submit(default_survey, {"main_tasks": ["draft emails"], "change_text": "I lost a client"})
    assert not Classification.objects.exists()  # no active model yet
    for book in Codebook.objects.all():
        classifications_create_missing(codebook=book)
    pairs = set(Classification.objects.values_list("answer__question__code", "codebook__slug"))
    assert pairs == {
        ("main_tasks", "task-exposure"),
        ("change_text", "displacement-risk"),
    }
