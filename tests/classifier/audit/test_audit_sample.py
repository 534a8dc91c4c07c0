"""The audit sample: shipped codebooks on their own questions, the draw, blind coding,
provisional labels, the review queue's order, retraining and activation against the audit."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from classifier.audit.services import audit_draw
from classifier.coding.selectors import assignment_is_blind
from classifier.coding.services import classification_code, coding_assignments_create
from classifier.models import Classification, Codebook, CodingAssignment, Job, SurveyAudit
from classifier.runs.variables import ClassificationVariables
from classifier.training import jobs
from classifier.training.codebooks import codebooks_install
from classifier.training.data import codebook_training_data
from tests.classifier.conftest import submit

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:classifier_classification_changelist")
Review = Classification.ReviewStatus


@pytest.fixture
def many(submitted):
    """Submit `n` responses (both codebooks code both questions here, see active_models)."""

    def _many(n: int) -> None:
        for i in range(n):
            submitted(change=f"I lost my biggest client {i} to AI video", protect=f"fees {i}")

    return _many


def test_the_migration_scopes_each_shipped_codebook_to_its_question():
    scopes = dict(Codebook.objects.values_list("slug", "question_codes"))
    assert scopes == {
        "displacement-risk": ["change_text"],
        "concerns": ["protect_text"],
        "task-exposure": ["main_tasks"],
        "occupation-isco": ["occupation"],
    }


def test_shipped_codebooks_code_only_the_question_they_were_written_for(
    default_survey, active_models, django_capture_on_commit_callbacks
):
    codebooks_install()  # the shipped scope again (active_models widened it)
    with django_capture_on_commit_callbacks(execute=True):
        response, _ = submit(
            default_survey, {"change_text": "I lost my clients", "protect_text": "fair pay"}
        )
    pairs = set(
        Classification.objects.filter(answer__response=response).values_list(
            "codebook__slug", "answer__question__code"
        )
    )
    assert pairs == {("displacement-risk", "change_text"), ("concerns", "protect_text")}
    names = {v.name for v in ClassificationVariables().variables(default_survey)}
    assert "cls_change_text_displacement_risk" in names
    assert not any(name.startswith("cls_protect_text_displacement_risk") for name in names)
    assert not any(name.startswith("cls_change_text_concerns") for name in names)


def test_the_draw_is_reproducible_and_the_minimum_adds_only_what_is_missing(
    settings, many, admin_user, django_capture_on_commit_callbacks
):
    settings.EXPOSURE_AUDIT_SHARE = 0.5
    settings.EXPOSURE_AUDIT_MIN = 1
    many(6)
    rows = Classification.objects.select_related("answer__response")
    for codebook in Codebook.objects.filter(pk__in=rows.values("codebook")):
        audit = SurveyAudit.objects.get(codebook=codebook)
        mine = rows.filter(codebook=codebook)
        drawn = {r.pk for r in mine if audit_draw(salt=audit.salt, answer_id=r.answer_id) < 0.5}
        flagged = set(mine.filter(audit=True).values_list("pk", flat=True))
        assert drawn <= flagged
        assert len(flagged - drawn) <= 1  # at most one added to reach the minimum of 1
    before = dict(rows.values_list("pk", "audit"))
    with django_capture_on_commit_callbacks(execute=True):
        jobs.job_start(
            kind=Job.Kind.RECLASSIFY,
            codebook=Codebook.objects.get(slug="concerns"),
            user=admin_user,
        )
    assert dict(rows.values_list("pk", "audit")) == before


def test_audit_items_go_to_coders_blind_whatever_the_confidence(settings, submitted, admin_client):
    settings.EXPOSURE_AUDIT_SHARE = 1.0
    submitted()
    rows = Classification.objects.all()
    assert rows.filter(audit=False).count() == 0
    assert set(rows.values_list("review_status", flat=True)) == {Review.NEEDS_REVIEW}
    row = rows.get(codebook__slug="displacement-risk", answer__question__code="change_text")
    assert row.model_labels == ["displaced"]
    page = admin_client.get(reverse("admin:classifier_classification_change", args=[row.pk]))
    html = page.content.decode()
    assert "coded blind" in html
    radio = re.search(r'<input[^>]*value="displaced"[^>]*>', html)
    assert radio and "checked" not in radio.group(0)  # nothing pre-selected for the coder
    listing = admin_client.get(QUEUE).content.decode()
    assert "(blind)" in listing


def test_assignment_is_blind_for_audit_items_and_double_coding(settings, submitted, admin_user):
    settings.EXPOSURE_AUDIT_SHARE = 0.0
    settings.EXPOSURE_AUDIT_MIN = 1  # exactly one audit item per codebook
    submitted()
    coder = get_user_model().objects.create_user("second", is_staff=True)
    audit_row = Classification.objects.filter(audit=True).first()
    plain, double = Classification.objects.filter(audit=False)[:2]
    coding_assignments_create(classification_ids=[audit_row.pk, plain.pk], coders=[admin_user])
    coding_assignments_create(classification_ids=[double.pk], coders=[admin_user, coder])
    blind = {a.classification_id: assignment_is_blind(a) for a in CodingAssignment.objects.all()}
    assert blind[audit_row.pk] is True
    assert blind[plain.pk] is False
    assert blind[double.pk] is True


def test_labels_stay_provisional_until_the_audit_is_large_enough(
    settings, many, admin_user, client
):
    settings.EXPOSURE_AUDIT_SHARE = 0.0
    settings.EXPOSURE_AUDIT_MIN = 2
    many(4)
    book = Codebook.objects.get(slug="displacement-risk")
    rows = Classification.objects.filter(codebook=book)
    plain = rows.filter(audit=False)
    assert rows.filter(audit=True).count() == 2
    confident = plain.filter(auto_coded=True)
    assert confident.exists()
    assert set(confident.values_list("review_status", flat=True)) == {Review.PROVISIONAL}
    client.force_login(admin_user)
    survey = rows.first().answer.response.survey
    data = b"".join(client.get(f"/exports/survey/{survey.slug}/data.csv").streaming_content)
    assert "provisional" in data.decode("utf-8-sig").lower()
    for row in rows.filter(audit=True):
        classification_code(classification=row, coder=admin_user, labels=row.model_labels)
    audit = SurveyAudit.objects.get(codebook=book)
    assert audit.ready and audit.audited == 2
    # Two right answers cannot show 90% precision at 95% confidence: nothing is auto-coded.
    assert audit.threshold is None
    assert set(plain.values_list("review_status", flat=True)) == {Review.NEEDS_REVIEW}


def test_the_review_queue_puts_audit_items_first(settings, many, admin_client):
    settings.EXPOSURE_AUDIT_SHARE = 0.0
    settings.EXPOSURE_AUDIT_MIN = 2
    many(5)
    listed = list(admin_client.get(QUEUE + "?review=all").context["cl"].result_list)
    flags = [row.audit for row in listed]
    assert flags == sorted(flags, reverse=True) and flags[0]
    rest = [row.priority for row in listed if not row.audit]
    assert rest == sorted(rest, reverse=True)


def test_retraining_weights_survey_codes_and_holds_the_audit_out(settings, many, admin_user):
    settings.EXPOSURE_AUDIT_SHARE = 0.0
    settings.EXPOSURE_AUDIT_MIN = 1
    settings.EXPOSURE_TRAIN_SURVEY_WEIGHT = 3
    many(3)
    book = Codebook.objects.get(slug="displacement-risk")
    for row in Classification.objects.filter(codebook=book):
        classification_code(classification=row, coder=admin_user, labels=["augmentation"])
    coded = Classification.objects.filter(codebook=book, source="coder")
    held_out = coded.filter(audit=True).count()
    assert held_out == 1
    data = codebook_training_data(codebook=book)
    assert data.sources["human labels x3"] == 3 * (coded.count() - held_out)
    audit_texts = set(coded.filter(audit=True).values_list("answer__text", flat=True))
    assert audit_texts and not audit_texts & set(data.texts)


def test_a_visible_row_preselects_the_model_label(settings, submitted, admin_client):
    submitted()  # no audit sample here: the coder sees and may accept the model's label
    row = Classification.objects.get(
        codebook__slug="displacement-risk", answer__question__code="change_text"
    )
    html = admin_client.get(
        reverse("admin:classifier_classification_change", args=[row.pk])
    ).content.decode()
    radio = re.search(r'<input[^>]*value="displaced"[^>]*>', html)
    assert radio and "checked" in radio.group(0)
    assert "coded blind" not in html


def test_the_queue_shows_each_survey_audit_only_to_its_researchers(
    settings, submitted, admin_client, client
):
    from surveys.models import Survey, SurveyRole

    settings.EXPOSURE_AUDIT_MIN = 1
    submitted()
    shown = admin_client.get(QUEUE).context["audits"]
    assert {summary.codebook for _, summary in shown} == {"displacement-risk", "concerns"}
    assert all(summary.status == "provisional" for _, summary in shown)
    stranger = get_user_model().objects.create_user("stranger", is_staff=True)
    own = Survey.objects.create(slug="own", title={"en": "Own"}, languages=["en"])
    SurveyRole.objects.create(survey=own, user=stranger, role="owner")
    client.force_login(stranger)
    page = client.get(QUEUE)
    assert page.status_code == 200 and page.context["audits"] == []
