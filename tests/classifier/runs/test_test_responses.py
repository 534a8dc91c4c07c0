"""A researcher's test responses are never classified, not even by the sweep's catch-up."""

from __future__ import annotations

from classifier.models import Classification
from classifier.runs import services as runs_services
from surveys.models import Response


def test_missing_classifications_are_not_created_for_test_responses(submitted, active_models):
    response, _ = submitted()
    Classification.objects.filter(answer__response=response).delete()
    Response.all_objects.filter(pk=response.pk).update(is_test=True)
    assert runs_services.classifications_create_missing() == []
    assert not Classification.objects.filter(answer__response=response).exists()
    Response.all_objects.filter(pk=response.pk).update(is_test=False)
    assert runs_services.classifications_create_missing()  # the same answers, once real
