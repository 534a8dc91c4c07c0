"""The coding workbench: one answer at a time, blind double coding, skip, flag, the audit log."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from classifier.models import Classification, CodingAssignment, CodingFlag, HumanLabel
from surveys.models import AuditEntry
from tests.classifier.admin.test_admin import make_coder

pytestmark = pytest.mark.django_db

WORKBENCH = reverse("admin:classifier_classification_workbench")


@pytest.fixture
def rows(submitted):
    """Two responses' displacement-risk rows, waiting for review."""
    submitted()
    submitted(change="I use these tools every day for previs and they speed me up")
    queryset = Classification.objects.filter(codebook__slug="displacement-risk").order_by("pk")
    # One priority for both, so the queue (ordered by priority, then age) takes them in order.
    queryset.update(review_status=Classification.ReviewStatus.NEEDS_REVIEW, priority=0.0)
    return list(queryset)


@pytest.fixture
def double(rows):
    """Both rows assigned to two coders: double coding, hence blind."""
    first, second = make_coder("first"), make_coder("second")
    for row in rows:
        CodingAssignment.objects.create(classification=row, coder=first)
        CodingAssignment.objects.create(classification=row, coder=second)
    return first, second


def test_blind_coding_hides_the_model_and_preselects_nothing(client, rows, double):
    client.force_login(double[0])
    page = client.get(WORKBENCH)
    assert page.status_code == 200
    body = page.content.decode()
    assert page.context["item"].classification == rows[0]
    assert page.context["item"].blind
    assert "Blind coding" in body
    assert "The model suggests" not in body
    assert " checked" not in body
    assert rows[0].answer.text in body
    # The codebook's definitions stand beside the answer, each category under its key.
    assert "Has already lost jobs, clients, roles or income" in body
    assert "<kbd>1</kbd> Displaced" in body


def test_saving_codes_audits_and_opens_the_next_answer(client, rows, double):
    client.force_login(double[0])
    saved = client.post(
        WORKBENCH, {"classification": rows[0].pk, "codes": "displaced", "note": "clear"}
    )
    assert saved.status_code == 302
    label = HumanLabel.objects.get(classification=rows[0], coder=double[0])
    assert label.labels == ["displaced"]
    assert label.note == "clear"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.LABEL)
    assert entry.actor == double[0]
    assert entry.survey == rows[0].answer.response.survey
    assert entry.details["labels"] == ["displaced"]
    assert entry.details["blind"] is True
    assert entry.details["previous"] is None
    following = client.get(saved["Location"])
    assert following.context["item"].classification == rows[1]
    assert following.context["progress"].assigned_coded == 1


def test_a_single_coder_sees_the_model_and_its_label_preselected(client, rows):
    coder = make_coder("solo")
    CodingAssignment.objects.create(classification=rows[0], coder=coder)
    client.force_login(coder)
    page = client.get(WORKBENCH, {"item": rows[0].pk})
    assert not page.context["item"].blind
    assert "The model suggests" in page.content.decode()
    assert page.context["chosen"] == rows[0].labels


def test_skip_then_come_back(client, rows, double):
    client.force_login(double[0])
    for row in rows:
        client.post(WORKBENCH, {"classification": row.pk, "action": "skip"})
    page = client.get(WORKBENCH)
    assert page.context["item"] is None
    assert f"Go back to the {len(rows)} skipped answers" in page.content.decode()
    assert not HumanLabel.objects.exists()
    client.post(WORKBENCH, {"action": "unskip"})
    assert client.get(WORKBENCH).context["item"].classification == rows[0]


def test_flag_takes_the_answer_out_of_the_queue_and_is_audited(client, rows, double):
    client.force_login(double[0])
    client.post(WORKBENCH, {"classification": rows[0].pk, "action": "flag", "note": "sarcasm?"})
    assert CodingFlag.objects.get(classification=rows[0], coder=double[0]).note == "sarcasm?"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.LABEL)
    assert entry.details["flag"] is True
    assert client.get(WORKBENCH).context["item"].classification == rows[1]
    # The other coder's queue is untouched by this coder's flag.
    client.force_login(double[1])
    assert client.get(WORKBENCH).context["item"].classification == rows[0]


def test_bad_input_is_a_clear_4xx_and_saves_nothing(client, rows, double):
    client.force_login(double[0])
    empty = client.post(WORKBENCH, {"classification": rows[0].pk, "note": "kept"})
    assert empty.status_code == 400
    assert "Pick a code first." in empty.content.decode()
    assert 'value="kept"' in empty.content.decode()
    unknown = client.post(WORKBENCH, {"classification": rows[0].pk, "codes": "nonsense"})
    assert unknown.status_code == 400
    assert "not a code of displacement-risk" in unknown.content.decode()
    assert client.post(WORKBENCH, {"classification": "x1", "codes": "displaced"}).status_code == 403
    assert client.get(WORKBENCH, {"item": "abc"}).status_code == 403
    assert not HumanLabel.objects.exists()
    assert not AuditEntry.objects.exists()


def test_rows_of_others_and_users_without_a_coding_role_are_refused(client, rows):
    coder = make_coder("mine-only")
    client.force_login(coder)
    # A coder sees only rows assigned to them; this one is not.
    assert client.get(WORKBENCH, {"item": rows[0].pk}).status_code == 403
    post = client.post(WORKBENCH, {"classification": rows[0].pk, "codes": "displaced"})
    assert post.status_code == 403
    nobody = get_user_model().objects.create_user("nobody", password="pw", is_staff=True)
    client.force_login(nobody)
    assert client.get(WORKBENCH).status_code == 403
    client.logout()
    assert client.get(WORKBENCH).status_code == 302  # to the login page


def test_the_stock_change_form_is_blind_too(client, rows, double):
    client.force_login(double[0])
    url = reverse("admin:classifier_classification_change", args=[rows[0].pk])
    page = client.get(url)
    body = page.content.decode()
    assert "model output" not in body.lower()
    assert page.context["adminform"].form.fields["codes"].initial is None
    changelist = client.get(reverse("admin:classifier_classification_changelist"))
    assert "labels_display" not in changelist.context["cl"].list_display


def test_stock_change_form_coding_is_audited(admin_client, admin_user, rows):
    url = reverse("admin:classifier_classification_change", args=[rows[0].pk])
    admin_client.post(url, {"codes": "augmentation", "note": ""})
    entry = AuditEntry.objects.get(action=AuditEntry.Action.LABEL)
    assert entry.actor == admin_user
    assert entry.details["labels"] == ["augmentation"]
    assert entry.details["blind"] is False


def test_model_activation_is_audited(admin_client, admin_user, active_models):
    from classifier.models import ModelVersion

    version = ModelVersion.objects.filter(codebook__slug="concerns").first()
    admin_client.post(
        reverse("admin:classifier_modelversion_changelist"),
        {"action": "activate", "_selected_action": [version.pk]},
    )
    entry = AuditEntry.objects.get(action=AuditEntry.Action.MODEL)
    assert entry.actor == admin_user
    assert entry.details["codebook"] == "concerns"
    assert entry.details["version"] == version.version
    # The audit log's own filter finds it.
    log = admin_client.get(reverse("admin:surveys_auditentry_changelist"), {"action": "model"})
    assert log.context["cl"].result_count == 1


def test_the_review_queue_links_to_the_workbench(client, rows, double):
    client.force_login(double[0])
    page = client.get(reverse("admin:classifier_classification_changelist"))
    assert WORKBENCH in page.content.decode()


def test_the_shipped_codebooks_show_examples_beside_the_definitions(client, rows, double):
    client.force_login(double[0])
    page = client.get(WORKBENCH)
    guide = {category.code: category for category in page.context["item"].categories}
    assert len(guide["displaced"].examples) == 2
    assert "e-learning narration clients" in page.content.decode()
