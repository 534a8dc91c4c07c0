"""The pipeline's guard reaches the site: a text the model cannot read is never auto-coded."""

from __future__ import annotations

import pytest

from classifier.audit.services import survey_audit_refresh
from classifier.models import Classification, ModelVersion

pytestmark = pytest.mark.django_db

CHINESE = "我去年因为人工智能生成的视频失去了最大的客户，收入减少了一半"


def test_text_in_a_script_the_model_never_saw_goes_to_review_whatever_the_threshold(
    submitted, active_models
):
    # A threshold of 0 would auto-code every readable answer.
    ModelVersion.objects.update(threshold=0.0)
    submitted(change="I lost my biggest client last year to AI generated video", protect=CHINESE)
    chinese = Classification.objects.filter(answer__question__code="protect_text")
    assert chinese.count() == 2  # both codebooks code it here
    for row in chinese:
        assert row.status == Classification.Status.DONE
        assert row.review_reason == "language-not-trained"
        assert not row.auto_coded
        assert row.review_status == Classification.ReviewStatus.NEEDS_REVIEW
    english = Classification.objects.get(
        answer__question__code="change_text", codebook__slug="displacement-risk"
    )
    assert english.review_reason == "" and english.auto_coded


def test_the_surveys_own_routing_keeps_unreadable_texts_in_review(submitted, active_models):
    ModelVersion.objects.update(threshold=0.0)
    submitted(change=CHINESE)
    row = Classification.objects.get(
        answer__question__code="change_text", codebook__slug="displacement-risk"
    )
    # Re-routing the survey (as a new audit code does) must not auto-code it either.
    survey_audit_refresh(survey_id=row.answer.response.survey_id, codebook_id=row.codebook_id)
    row.refresh_from_db()
    assert not row.auto_coded and row.review_status == Classification.ReviewStatus.NEEDS_REVIEW
    assert row.review_reason == "language-not-trained"
