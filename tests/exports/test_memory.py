"""The streamed CSV holds a bounded amount in memory, however many responses it writes."""

from __future__ import annotations

import tracemalloc
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from surveys.exports import services as export_services
from surveys.models import Answer, Question, Response, SurveyRole
from tests.factories import ChoiceFactory, PageFactory, QuestionFactory, SurveyFactory

RESPONSES = 20_000
TEXT = "Clients now ask for AI previs instead of storyboards; 客户现在要求用AI做预演。 " * 6


def _synthetic_survey():  # type: ignore[no-untyped-def]
    """A small survey with 20,000 complete responses, created in bulk (not via the form)."""
    survey = SurveyFactory(slug="memory")
    page = PageFactory(survey=survey, position=1)
    kind = QuestionFactory(page=page, code="kind", type=Question.Type.SINGLE_CHOICE, position=1)
    ChoiceFactory(question=kind, code="staff", position=1)
    ChoiceFactory(question=kind, code="freelance", position=2)
    years = QuestionFactory(page=page, code="years", type=Question.Type.NUMBER, position=2)
    story = QuestionFactory(page=page, code="story", type=Question.Type.LONG_TEXT, position=3)
    now = timezone.now().replace(second=0, microsecond=0)
    Response.objects.bulk_create(
        (
            Response(
                public_id=f"mem{i:019d}",
                survey=survey,
                language="en",
                status=Response.Status.COMPLETE,
                started_at=now - timedelta(minutes=10),
                submitted_at=now,
                page_seconds={"p": 60},
            )
            for i in range(RESPONSES)
        ),
        batch_size=2000,
    )
    ids = list(Response.objects.filter(survey=survey).values_list("pk", flat=True))
    answers = []
    for n, pk in enumerate(ids):
        answers += [
            Answer(response_id=pk, question=kind, choice="freelance" if n % 3 else "staff"),
            Answer(response_id=pk, question=years, number=Decimal(n % 40)),
            Answer(response_id=pk, question=story, text=f"{n}: {TEXT}"),
        ]
    Answer.objects.bulk_create(answers, batch_size=5000)
    return survey


@pytest.mark.slow
def test_streamed_csv_memory_stays_flat(db, django_user_model):  # type: ignore[no-untyped-def]
    survey = _synthetic_survey()
    user = django_user_model.objects.create_user("memory-viewer")
    SurveyRole.objects.create(survey=survey, user=user, role="viewer")

    tracemalloc.start()
    try:
        stream = export_services.export_stream_csv(user=user, survey=survey, labels=True)
        total = lines = 0
        early_peak = None
        for chunk in stream.chunks:  # as a StreamingHttpResponse would: send, then forget
            total += len(chunk)
            lines += chunk.count(b"\r\n")
            if early_peak is None and lines >= RESPONSES // 10:
                early_peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.reset_peak()
        _current, late_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert stream.rows == RESPONSES
    assert lines == RESPONSES + 1  # the header, then one line per response
    assert total > 10_000_000  # the whole output: over 10 MB
    assert early_peak is not None
    peak = max(early_peak, late_peak)
    # Holding the output, or all responses at once, would take several times this bound...
    assert peak < total / 5, (early_peak, late_peak, total)
    # ...and the last 90% of the rows needed no more memory than the first 10%: flat, not growing.
    assert late_peak < early_peak * 1.5 + 256 * 1024, (early_peak, late_peak)
