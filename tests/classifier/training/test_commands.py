"""The classifier management commands, including every CSV error they must report by row."""

from __future__ import annotations

import csv
import hashlib
import json
from importlib import metadata
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from classifier import pipeline
from classifier.coding import services as coding_services
from classifier.models import Classification, ModelVersion
from classifier.training import services as training_services
from tests.classifier.conftest import DISPLACEMENT, write_csv

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def labelled_rows(labels=None) -> list[tuple[str, str]]:
    """Two codes' worth of distinct texts; `labels` renames the codes."""
    names = labels or ["augmentation", "not-exposed"]
    rows = []
    for name, code in zip(names, ["augmentation", "not-exposed"], strict=True):
        for i, text in enumerate(DISPLACEMENT[code]):
            rows += [(f"{text}", name), (f"{text} number {i}", name)]
    return rows


@pytest.fixture
def labelled_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "labelled.csv", ["text", "label"], labelled_rows())


def test_train_codebook_from_seed_and_human_labels(submitted, admin_user):
    response, _ = submitted()
    row = Classification.objects.get(
        answer__response=response,
        codebook__slug="displacement-risk",
        answer__question__code="protect_text",
    )
    coding_services.classification_code(
        classification=row, coder=admin_user, labels=["not-exposed"]
    )
    output = run("classifier_train", "--codebook", "displacement-risk")
    version = ModelVersion.objects.get(codebook__slug="displacement-risk", version=2)
    assert not version.is_active  # v1 (the fixture's) stays active without --activate
    assert "macro-F1" in output and "Cohen's kappa" in output and "coverage" in output
    # One survey code, counted EXPOSURE_TRAIN_SURVEY_WEIGHT (3) times.
    assert "human labels x3 (3)" in version.trained_from
    assert version.metrics["training_size"] == version.training_size == 63
    assert set(version.metrics["per_class"]) == set(DISPLACEMENT)
    assert version.metrics["confusion_matrix"]["matrix"]
    assert version.sklearn_version
    path = Path(version.artifact_path)
    assert path.name == "displacement-risk-v2.joblib"
    stored = Path(training_services.settings.EXPOSURE_MODEL_DIR) / path
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == version.checksum
    meta = pipeline.read_metadata(stored)
    assert version.metrics["jieba_version"] == meta["jieba_version"] == metadata.version("jieba")
    assert version.metrics["training_data"] == meta["training_data"]
    assert version.metrics["training_data"]["rows"] == version.training_size


def test_train_codebook_from_csv_and_activate(labelled_csv):
    run(
        "classifier_train",
        "--codebook",
        "displacement-risk",
        "--csv",
        str(labelled_csv),
        "--activate",
    )
    version = ModelVersion.objects.get(codebook__slug="displacement-risk")
    assert version.is_active and version.version == 1 and version.training_size == 16


def test_train_codebook_rejects_unknown_codes_naming_the_row(tmp_path):
    rows = labelled_rows()
    rows[4] = (rows[4][0], "unemployed")
    rows.append(("another unemployed text", "unemployed"))
    path = write_csv(tmp_path / "bad.csv", ["text", "label"], rows)
    with pytest.raises(CommandError, match=r"row 5: 'unemployed' is not a code of codebook"):
        run("classifier_train", "--codebook", "displacement-risk", "--csv", str(path))
    assert not ModelVersion.objects.exists()


def test_train_unknown_codebook():
    with pytest.raises(CommandError, match="no codebook 'nope'"):
        run("classifier_train", "--codebook", "nope")


def test_train_standalone_with_any_labels(tmp_path):
    path = write_csv(tmp_path / "any.csv", ["body", "kind"], labelled_rows(["happy", "sad"]))
    out = tmp_path / "models" / "any.joblib"
    output = run(
        "classifier_train",
        "--csv",
        str(path),
        "--out",
        str(out),
        "--text-column",
        "body",
        "--label-column",
        "kind",
        "--target-precision",
        "0.8",
    )
    model = pipeline.load(out)
    assert model.classes == ("happy", "sad")
    assert model.metadata["target_precision"] == 0.8
    assert "Saved" in output and "accuracy" in output
    assert not ModelVersion.objects.exists()


def test_train_needs_a_mode():
    with pytest.raises(CommandError, match="--codebook SLUG, or --csv FILE and --out"):
        run("classifier_train")


def test_evaluate_prints_figures(labelled_csv):
    output = run("classifier_evaluate", "--csv", str(labelled_csv), "--folds", "3")
    for figure in (
        "accuracy",
        "macro-F1",
        "Cohen's kappa",
        "coverage",
        "realised precision",
        "augmentation",
        "not-exposed",
    ):
        assert figure in output


def test_evaluate_json(labelled_csv):
    figures = json.loads(
        run(
            "classifier_evaluate",
            "--csv",
            str(labelled_csv),
            "--json",
            "--target-precision",
            "0.85",
        )
    )
    assert figures["target_precision"] == 0.85
    assert figures["n"] == 16 and figures["folds"] >= 2
    assert set(figures["per_class"]) == {"augmentation", "not-exposed"}
    assert 0 <= figures["coverage"] <= 1 and 0 <= figures["accuracy"] <= 1


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_predict_with_codebook_model_and_version(active_models, artifacts, tmp_path):
    source = write_csv(
        tmp_path / "in.csv",
        ["id", "text"],
        [("1", "I lost my biggest client to Sora"), ("2", "asdf")],
    )
    for how in (
        ["--codebook", "displacement-risk"],
        ["--model", str(artifacts["displacement-risk"].path)],
        ["--model", "displacement-risk:1"],
    ):
        out = tmp_path / "out.csv"
        run("classifier_predict", "--csv", str(source), "--out", str(out), *how)
        rows = _read(out)
        assert [row["id"] for row in rows] == ["1", "2"]
        assert rows[0]["label"] == "displaced"
        assert 0 <= float(rows[0]["confidence"]) <= 1
        assert rows[0]["auto_coded"] in {"true", "false"}


def test_predict_errors(active_models, tmp_path):
    source = write_csv(tmp_path / "in.csv", ["text"], [("hello",)])
    with pytest.raises(CommandError, match="neither an existing model file"):
        run(
            "classifier_predict",
            "--csv",
            str(source),
            "--out",
            str(tmp_path / "o.csv"),
            "--model",
            "nonsense",
        )
    with pytest.raises(CommandError, match="no model version 9"):
        run(
            "classifier_predict",
            "--csv",
            str(source),
            "--out",
            str(tmp_path / "o.csv"),
            "--model",
            "concerns-v9",
        )
    active_models["concerns"].delete()
    with pytest.raises(CommandError, match="no active model version"):
        run(
            "classifier_predict",
            "--csv",
            str(source),
            "--out",
            str(tmp_path / "o.csv"),
            "--codebook",
            "concerns",
        )


BAD_CSVS = {
    "missing column": (b"body,label\nfoo,a\nbar,a\n", r"column 'text' not found"),
    "empty text": (b"text,label\nfoo,a\n  ,a\nbar,b\nbaz,b\n", r"row 2 .*empty text"),
    "label seen once": (b"text,label\nfoo,a\nbar,a\nbaz,b\n", r"row 3: label 'b' occurs only once"),
    "non-UTF-8 byte": (b"text,label\nfoo,a\ncaf\xe9,a\n", r"row 2 .*byte 0xe9 is not valid UTF-8"),
}


# Prediction reads no labels, so a label seen once is no error for it.
CSV_CASES = [
    (problem, command)
    for command in ["evaluate", "train-standalone", "train-codebook", "predict"]
    for problem in BAD_CSVS
    if not (command == "predict" and problem == "label seen once")
]


@pytest.mark.parametrize(("problem", "command"), CSV_CASES)
def test_csv_errors_name_the_row(problem, command, tmp_path, active_models):
    content, message = BAD_CSVS[problem]
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    args = {
        "evaluate": ["classifier_evaluate", "--csv", str(path)],
        "train-standalone": [
            "classifier_train",
            "--csv",
            str(path),
            "--out",
            str(tmp_path / "m.joblib"),
        ],
        "train-codebook": [
            "classifier_train",
            "--codebook",
            "displacement-risk",
            "--csv",
            str(path),
        ],
        "predict": [
            "classifier_predict",
            "--csv",
            str(path),
            "--out",
            str(tmp_path / "o.csv"),
            "--codebook",
            "displacement-risk",
        ],
    }[command]
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_setup_trains_and_activates_once():
    output = run("classifier_setup")
    assert "displacement-risk: activated displacement-risk v1" in output
    assert "concerns: activated concerns v1" in output
    assert ModelVersion.objects.filter(is_active=True).count() == 2
    again = run("classifier_setup")
    assert "nothing to do" in again and "activated" not in again
    assert ModelVersion.objects.count() == 2


def test_setup_skips_codebooks_without_seed_corpus(settings, tmp_path):
    settings.EXPOSURE_SEED_DIR = tmp_path / "empty"
    assert "no seed corpus" in run("classifier_setup")
    assert not ModelVersion.objects.exists()


def test_setup_queues_answers_submitted_before_any_model(
    default_survey, django_capture_on_commit_callbacks
):
    from tests.classifier.conftest import submit

    with django_capture_on_commit_callbacks(execute=True):
        _response, _ = submit(default_survey, {"change_text": "I lost my biggest client"})
    assert not Classification.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        output = run("classifier_setup")
    # Only displacement-risk codes change_text: concerns is written for protect_text.
    assert "Queued 1 submitted answers" in output
    assert set(Classification.objects.values_list("status", flat=True)) == {"done"}
    assert get_user_model().objects.count() == 0
