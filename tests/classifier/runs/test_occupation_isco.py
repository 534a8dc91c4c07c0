"""An occupation the list lacks ("other, please specify"): an ISCO group suggested to a coder."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from classifier import pipeline
from classifier.coding.services import coding_assignments_create
from classifier.models import Classification, Codebook, ModelVersion
from classifier.runs.variables import ClassificationVariables
from classifier.training.codebooks import codebooks_install
from classifier.training.occupation_seed import LANGUAGES, occupation_seed_rows
from surveys.models import Answer, Page
from surveys.reference import OTHER, occupation_for_title, occupations
from surveys.respondent.services import (
    PageValue,
    response_complete,
    response_save_page,
    response_start,
)
from tests.classifier.admin.test_admin import make_coder

SEED = Path(__file__).resolve().parents[3] / "classifier" / "data" / "occupation-isco"
WORKBENCH = reverse("admin:classifier_classification_workbench")
SLUG = "occupation-isco"


@pytest.fixture(scope="module")
def isco_artifact(tmp_path_factory: pytest.TempPathFactory):
    """The shipped seed corpus trained once for the module (pipeline only, no database)."""
    texts: list[str] = []
    labels: list[str] = []
    for language in LANGUAGES:
        rows = occupation_seed_rows(language)
        texts += [text for text, _ in rows]
        labels += [code for _, code in rows]
    model = pipeline.train(texts, labels, codebook=SLUG, folds=3)
    path = tmp_path_factory.mktemp("isco") / "occupation-isco.joblib"
    return path, pipeline.save(model, path), model


@pytest.fixture
def isco_model(db, active_models, isco_artifact) -> ModelVersion:
    codebooks_install()  # the shipped question scopes (active_models widened them)
    path, checksum, model = isco_artifact
    meta = model.metadata
    return ModelVersion.objects.create(
        codebook=Codebook.objects.get(slug=SLUG),
        version=1,
        artifact_path=str(path),
        checksum=checksum,
        threshold=0.0,  # even a model sure of everything only suggests
        metrics=meta["metrics"],
        training_size=meta["training_size"],
        sklearn_version=meta["sklearn_version"],
        is_active=True,
    )


def submit_occupation(survey, other: str, language: str = "en", **texts: str):
    """Complete a response whose occupation is "other" with `other` as the specified text."""
    response, _ = response_start(survey=survey, language=language)
    values = {"occupation": PageValue(OTHER, other=other)}
    values |= {code: PageValue(text) for code, text in texts.items()}
    for page in Page.objects.filter(survey=survey, questions__code__in=list(values)).distinct():
        mine = {c: v for c, v in values.items() if page.questions.filter(code=c).exists()}
        response_save_page(response=response, page=page, values=mine)
    response_complete(response=response)
    return response


@pytest.mark.parametrize(("text", "language"), [("VFX compositor", "en"), ("配音演员", "zh-hans")])
def test_an_other_occupation_gets_the_titles_isco_group_as_a_suggestion(
    default_survey, isco_model, django_capture_on_commit_callbacks, text, language
):
    expected = occupation_for_title(text)
    assert expected in {"2166", "2655"}
    with django_capture_on_commit_callbacks(execute=True):
        response = submit_occupation(default_survey, text, language)
    row = Classification.objects.get(answer__response=response, codebook__slug=SLUG)
    assert row.status == Classification.Status.DONE
    assert row.model_labels == [expected]
    assert row.confidence is not None and row.confidence > 0.5
    # A suggestion: not auto-coded, not an audit item, waiting for a coder.
    assert not row.auto_coded and not row.audit
    assert row.review_status == Classification.ReviewStatus.NEEDS_REVIEW
    answer = Answer.objects.get(response=response, question__code="occupation")
    assert (answer.choice, answer.text) == (OTHER, text)  # the respondent's answer is unchanged


def test_other_codebooks_keep_their_questions_and_listed_occupations_are_not_coded(
    default_survey, isco_model, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = submit_occupation(
            default_survey, "VFX compositor", change_text="I lost my clients", protect_text="pay"
        )
        listed, _ = response_start(survey=default_survey, language="en")
        page = Page.objects.get(survey=default_survey, questions__code="occupation")
        response_save_page(response=listed, page=page, values={"occupation": PageValue("2166")})
        response_complete(response=listed)
    pairs = set(
        Classification.objects.filter(answer__response=response).values_list(
            "codebook__slug", "answer__question__code"
        )
    )
    assert pairs == {
        ("displacement-risk", "change_text"),
        ("concerns", "protect_text"),
        (SLUG, "occupation"),
    }
    assert not Classification.objects.filter(answer__response=listed).exists()


def test_a_coder_sees_the_suggestion_and_confirms_it_in_the_workbench(
    client, default_survey, isco_model, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = submit_occupation(default_survey, "VFX compositor")
    row = Classification.objects.get(answer__response=response, codebook__slug=SLUG)
    coder = make_coder("coder")
    coding_assignments_create(classification_ids=[row.pk], coders=[coder])
    client.force_login(coder)
    page = client.get(WORKBENCH, {"codebook": SLUG})
    assert page.status_code == 200
    item = page.context["item"]
    assert item.classification == row
    assert not item.blind
    assert item.suggestion == ["2166"] and item.confidence == row.confidence
    assert "The model suggests" in page.content.decode()
    saved = client.post(WORKBENCH, {"classification": row.pk, "codes": "2166"})
    assert saved.status_code == 302
    row.refresh_from_db()
    assert row.labels == ["2166"]
    assert row.review_status == Classification.ReviewStatus.REVIEWED
    assert row.source == Classification.Source.CODER
    answer = Answer.objects.get(response=response, question__code="occupation")
    assert answer.choice == OTHER  # confirming codes the text, not the respondent's answer
    variables = {v.name: v for v in ClassificationVariables().variables(default_survey)}
    assert "cls_occupation_occupation_isco" in variables
    values = ClassificationVariables().values(
        default_survey, list(variables.values()), [response.pk]
    )
    assert values[response.pk]["cls_occupation_occupation_isco"] == "2166"
    assert values[response.pk]["cls_occupation_occupation_isco_review"] == "reviewed"


def test_the_codebook_has_the_occupation_lists_groups(shipped_codebooks):
    codebook = Codebook.objects.get(slug=SLUG)
    assert codebook.suggest_only and not codebook.multilabel
    assert codebook.question_codes == ["occupation"]
    assert list(codebook.categories.values_list("code", flat=True)) == [
        o.isco for o in occupations()
    ]


def test_the_shipped_seed_corpus_is_the_titles_file(tmp_path: Path) -> None:
    for language in LANGUAGES:
        with open(SEED / f"{language}.csv", encoding="utf-8", newline="") as fh:
            shipped = [tuple(row) for row in csv.reader(fh)][1:]
        assert shipped == occupation_seed_rows(language), "regenerate: see occupation_seed.py"
    assert ("VFX compositor", "2166") in occupation_seed_rows("en")
    assert ("配音演员", "2655") in occupation_seed_rows("zh-hans")


def test_setup_trains_and_activates_it_from_the_seed_corpus(
    settings, shipped_codebooks, tmp_path: Path
):
    settings.EXPOSURE_SEED_DIR = tmp_path / "seed"
    shutil.copytree(SEED, settings.EXPOSURE_SEED_DIR / SLUG)  # only this codebook's corpus
    call_command("classifier_setup")
    version = ModelVersion.objects.get(codebook__slug=SLUG, is_active=True)
    assert version.training_size == sum(len(occupation_seed_rows(lang)) for lang in LANGUAGES)
