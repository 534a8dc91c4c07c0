"""Researcher and coder admin screens: review queue, coding form, assignment, agreement, models."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from sklearn.metrics import cohen_kappa_score

from classifier.coding import services as coding_services
from classifier.models import Classification, CodingAssignment, HumanLabel, Job, ModelVersion
from classifier.runs import services as runs_services
from tests.classifier.conftest import submit

pytestmark = pytest.mark.django_db

EVIL = '<script>alert("x")</script> I lost my biggest client last year to AI generated video'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
QUEUE = reverse("admin:classifier_classification_changelist")


@pytest.fixture
def queued(submitted):
    """A submitted response whose four classifications all wait for review."""
    response, _ = submitted(change=EVIL)
    rows = Classification.objects.filter(answer__response=response)
    rows.update(review_status=Classification.ReviewStatus.NEEDS_REVIEW)
    return rows


def make_coder(username: str):
    """A staff user with the coder role on every survey: roles, not model permissions, suffice."""
    from surveys.models import Survey, SurveyRole

    user = get_user_model().objects.create_user(username, password="pw", is_staff=True)
    for survey in Survey.objects.all():
        SurveyRole.objects.create(survey=survey, user=user, role=SurveyRole.Role.CODER)
    return user


def test_staff_without_a_coding_role_cannot_reach_the_queue(client, queued):
    user = get_user_model().objects.create_user("nobody", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(QUEUE).status_code == 403


def test_a_coder_whose_role_is_removed_no_longer_sees_assigned_rows(client, admin_client, queued):
    from surveys.models import SurveyRole

    coder = make_coder("leaver")
    row = queued.first()
    CodingAssignment.objects.create(classification=row, coder=coder)
    client.force_login(coder)
    assert client.get(QUEUE).context["cl"].result_count == 1
    SurveyRole.objects.filter(user=coder).update(role=SurveyRole.Role.VIEWER)
    assert client.get(QUEUE).status_code == 403


def test_review_queue_lists_needs_review_escaped(admin_client, queued):
    page = admin_client.get(QUEUE)
    assert page.status_code == 200
    body = page.content.decode()
    assert ESCAPED in body
    assert EVIL[:30] not in body
    assert page.context["cl"].result_count == 4
    auto = queued.first()
    Classification.objects.filter(pk=auto.pk).update(review_status="auto_coded")
    assert admin_client.get(QUEUE).context["cl"].result_count == 3  # the queue is needs_review
    assert admin_client.get(QUEUE, {"review": "all"}).context["cl"].result_count == 4


@pytest.mark.parametrize(
    "params",
    [
        {"label": "displaced"},
        {"codebook__id__exact": "1"},
        {"review": "auto_coded"},
        {"review": "unclassified"},
        {"q": "script"},
        {"status__exact": "done", "source__exact": "model"},
    ],
)
def test_review_queue_filters_and_search(admin_client, queued, params):
    page = admin_client.get(QUEUE, params)
    assert page.status_code == 200


def test_filters_by_label_survey_and_question(admin_client, queued):
    answer = queued.get(answer__question__code="change_text", codebook__slug="displacement-risk")
    assert admin_client.get(QUEUE, {"label": "displaced"}).context["cl"].result_count == 1
    survey = answer.answer.response.survey_id
    question = answer.answer.question_id
    result = admin_client.get(
        QUEUE,
        {"answer__response__survey__id__exact": survey, "answer__question__id__exact": question},
    )
    assert result.status_code == 200 and result.context["cl"].result_count == 2


def test_coding_form_records_a_human_label(admin_client, admin_user, queued):
    row = queued.get(answer__question__code="change_text", codebook__slug="displacement-risk")
    url = reverse("admin:classifier_classification_change", args=[row.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert ESCAPED in page.content.decode() and EVIL[:30] not in page.content.decode()
    response = admin_client.post(url, {"codes": "augmentation", "note": "uses <b>tools</b>"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.labels == ["augmentation"] and row.model_labels == ["displaced"]
    assert row.source == "coder" and row.review_status == "reviewed"
    label = HumanLabel.objects.get(classification=row)
    assert label.coder == admin_user and label.note == "uses <b>tools</b>"
    assert "uses &lt;b&gt;tools&lt;/b&gt;" in admin_client.get(url).content.decode()


def test_coding_form_multi_label_and_invalid_code(admin_client, queued):
    row = queued.get(answer__question__code="protect_text", codebook__slug="concerns")
    url = reverse("admin:classifier_classification_change", args=[row.pk])
    assert admin_client.post(url, {"codes": ["likeness", "income"]}).status_code == 302
    row.refresh_from_db()
    assert row.labels == ["income", "likeness"]
    invalid = admin_client.post(url, {"codes": ["not-a-code"]})
    assert invalid.status_code == 200 and invalid.context["adminform"].form.errors


def test_coders_see_only_their_assignments(client, admin_client, queued):
    first, second = make_coder("first"), make_coder("second")
    rows = list(queued.order_by("pk")[:2])
    response = admin_client.post(
        QUEUE,
        {"action": "assign_to_coders", "_selected_action": [r.pk for r in rows]},
    )
    assert response.status_code == 200 and b"Assign" in response.content  # the coder picker
    response = admin_client.post(
        QUEUE,
        {
            "action": "assign_to_coders",
            "_selected_action": [r.pk for r in rows],
            "apply": "1",
            "coders": [first.pk, second.pk],
        },
    )
    assert response.status_code == 302
    assert CodingAssignment.objects.count() == 4  # double coding: both coders, both rows
    client.force_login(first)
    assert client.get(QUEUE).context["cl"].result_count == 2
    other = queued.exclude(pk__in=[r.pk for r in rows]).first()
    hidden = client.get(reverse("admin:classifier_classification_change", args=[other.pk]))
    assert hidden.status_code == 302  # "does not exist" redirect, not the coding form
    # A coder cannot assign work.
    assert client.post(
        QUEUE,
        {
            "action": "assign_to_coders",
            "_selected_action": [rows[0].pk],
            "apply": "1",
            "coders": [first.pk],
        },
    ).status_code in (200, 302)
    assert CodingAssignment.objects.count() == 4
    url = reverse("admin:classifier_classification_change", args=[rows[0].pk])
    codes = "income" if rows[0].codebook.multilabel else "displaced"
    assert client.post(url, {"codes": codes}).status_code == 302
    assert HumanLabel.objects.get(coder=first).labels == [codes]


def test_coder_with_review_all_sees_everything(client, queued):
    coder = make_coder("lead")
    coder.user_permissions.add(Permission.objects.get(codename="review_all"))
    client.force_login(coder)
    assert client.get(QUEUE).context["cl"].result_count == 4


def test_agreement_page(admin_client, queued):
    rows = list(queued.filter(codebook__slug="displacement-risk").order_by("pk"))
    for text in ["I use these tools for drafts", "I perform live on stage", "no idea at all"]:
        submit(rows[0].answer.response.survey, {"change_text": text})
    first, second = make_coder("ann"), make_coder("bob")
    runs_services.classifications_create_missing()
    rows = list(Classification.objects.filter(codebook__slug="displacement-risk").order_by("pk"))
    a = ["displaced", "augmentation", "not-exposed", "uncodeable", "augmentation"]
    b = ["displaced", "augmentation", "augmentation", "uncodeable", "substitution"]
    for row, x, y in zip(rows, a, b, strict=False):
        coding_services.classification_code(classification=row, coder=first, labels=[x])
        coding_services.classification_code(classification=row, coder=second, labels=[y])
    n = min(len(rows), len(a))
    page = admin_client.get(
        reverse("admin:classifier_codebook_agreement", args=[rows[0].codebook_id])
    )
    assert page.status_code == 200
    body = page.content.decode()
    assert f"{cohen_kappa_score(a[:n], b[:n]):.3f}" in body
    assert "Krippendorff" in body and "ann" in body and "bob" in body


def test_agreement_page_without_codings(admin_client, active_models):
    codebook = active_models["concerns"].codebook
    page = admin_client.get(reverse("admin:classifier_codebook_agreement", args=[codebook.pk]))
    assert page.status_code == 200 and b"No two coders" in page.content


def test_model_version_pages_and_actions(
    admin_client, active_models, django_capture_on_commit_callbacks
):
    version = active_models["displacement-risk"]
    listing = admin_client.get(reverse("admin:classifier_modelversion_changelist"))
    assert listing.status_code == 200
    page = admin_client.get(reverse("admin:classifier_modelversion_change", args=[version.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert (
        "Confusion matrix" in body and "true \\ predicted" in body and "<th>precision</th>" in body
    )
    concerns = admin_client.get(
        reverse("admin:classifier_modelversion_change", args=[active_models["concerns"].pk])
    )
    assert concerns.status_code == 200 and b"true pos." in concerns.content
    changelist = reverse("admin:classifier_modelversion_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(changelist, {"action": "retrain", "_selected_action": [version.pk]})
    job = Job.objects.get(kind="retrain")
    assert job.status == "done", job.error
    new = ModelVersion.objects.get(codebook=version.codebook, version=2)
    assert not new.is_active and job.model_version == new
    admin_client.post(changelist, {"action": "activate", "_selected_action": [new.pk]})
    new.refresh_from_db()
    assert new.is_active
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(changelist, {"action": "reclassify_all", "_selected_action": [new.pk]})
    assert Job.objects.get(kind="reclassify").status == "done"
    jobs = admin_client.get(reverse("admin:classifier_job_changelist"))
    assert jobs.status_code == 200
    job_page = admin_client.get(reverse("admin:classifier_job_change", args=[job.pk]))
    assert job_page.status_code == 200


@pytest.mark.parametrize(
    "name",
    [
        "admin:classifier_codebook_changelist",
        "admin:classifier_humanlabel_changelist",
        "admin:classifier_codingassignment_changelist",
        "admin:classifier_job_changelist",
    ],
)
def test_other_pages(admin_client, queued, name):
    assert admin_client.get(reverse(name)).status_code == 200


def test_codebook_change_page(admin_client, active_models):
    codebook = active_models["concerns"].codebook
    page = admin_client.get(reverse("admin:classifier_codebook_change", args=[codebook.pk]))
    assert page.status_code == 200 and "Schonlau" in page.content.decode()


def test_anonymous_is_sent_to_login(client, active_models):
    codebook = active_models["concerns"].codebook
    for url in (QUEUE, reverse("admin:classifier_codebook_agreement", args=[codebook.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
