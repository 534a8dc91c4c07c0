"""Constraints of the classifier models and the codebooks the data migration ships."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from classifier.models import Category, Classification, Codebook, ModelVersion

pytestmark = pytest.mark.django_db


def test_shipped_codebooks_in_english_and_chinese():
    risk = Codebook.objects.get(slug="displacement-risk")
    concerns = Codebook.objects.get(slug="concerns")
    assert not risk.multilabel and concerns.multilabel
    assert list(risk.categories.values_list("code", flat=True)) == [
        "displaced",
        "substitution",
        "augmentation",
        "not-exposed",
        "uncodeable",
    ]
    assert list(concerns.categories.values_list("code", flat=True)) == [
        "income",
        "likeness",
        "copyright",
        "quality",
        "misinformation",
        "skills",
        "energy",
    ]
    for category in Category.objects.all():
        assert category.label["en"] and category.label["zh-hans"]
        assert category.definition["en"] and category.definition["zh-hans"]
    for codebook in (risk, concerns):
        assert codebook.target_precision == pytest.approx(0.90)
        for author in ("Eloundou", "Gmyrek", "Schonlau"):
            assert author in codebook.description["en"]
            assert author in codebook.description["zh-hans"]


@pytest.mark.parametrize("value", [0.0, 1.0, 1.5, -0.1])
def test_target_precision_strictly_between_0_and_1(value):
    with pytest.raises(IntegrityError), transaction.atomic():
        Codebook.objects.create(
            slug=f"x{int(value * 10)}", name={"en": "x"}, target_precision=value
        )


def test_one_active_version_per_codebook():
    codebook = Codebook.objects.get(slug="concerns")
    fields = {"codebook": codebook, "artifact_path": "a", "checksum": "c", "threshold": 0.5}
    ModelVersion.objects.create(version=1, is_active=True, **fields)
    ModelVersion.objects.create(version=2, is_active=False, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(version=3, is_active=True, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(version=2, **fields)


def test_one_classification_per_answer_and_codebook(submitted):
    response, _ = submitted()
    row = Classification.objects.filter(answer__response=response).first()
    assert row is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        Classification.objects.create(answer=row.answer, codebook=row.codebook)


def test_activation_replaces_the_previous_version(active_models):
    from classifier.training import services as training_services

    old = active_models["concerns"]
    new = ModelVersion.objects.create(
        codebook=old.codebook, version=2, artifact_path="x", checksum="y", threshold=0.5
    )
    training_services.model_version_activate(version=new)
    assert list(
        ModelVersion.objects.filter(codebook=old.codebook, is_active=True).values_list(
            "version", flat=True
        )
    ) == [2]
