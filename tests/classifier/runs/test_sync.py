"""Classifications finished by the model reach API clients that sync with updated_since."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from surveys.models import SurveyRole
from tests.api.helpers import API, token_client

pytestmark = pytest.mark.django_db


def test_a_finished_classification_moves_the_response_into_the_next_sync(
    default_survey, active_models, django_capture_on_commit_callbacks
):
    from tests.classifier.conftest import submit

    owner = get_user_model().objects.create_user("sync-owner", password="a long pass phrase 1")
    SurveyRole.objects.create(survey=default_survey, user=owner, role="owner")
    client = token_client(owner)
    url = f"{API}/surveys/{default_survey.slug}/responses/"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response, _receipt = submit(
            default_survey,
            {"change_text": "I lost my biggest client last year to AI generated video"},
        )
    first = client.get(url).json()["results"]
    assert first[0]["values"]["cls_change_text_displacement_risk"] is None  # not classified yet
    since = first[0]["updated_at"]

    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()  # the hand-off to the classifier, its tasks run eagerly
    again = client.get(url, {"updated_since": since}).json()["results"]
    assert [r["id"] for r in again] == [response.public_id]
    assert again[0]["values"]["cls_change_text_displacement_risk"] == "displaced"
