"""What the fault tests do as respondents, and the end-of-test count of every response."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from django.test import Client

from classifier.models import Classification
from surveys.models import Answer, Response, Survey
from tests.classifier.conftest import submit
from tests.faults.probe import BREAKS_THE_MODEL, SLOW
from tests.surveys.helpers import DEFAULT_ANSWERS, DEFAULT_PAGES_SHOWN, post, receipt_code, start

CHANGE = "I lost my biggest client last year to AI generated video"
PROTECT = "consent before cloning my voice"


def texts(number: int, *, slow: bool = False, poison: bool = False) -> dict[str, str]:
    """The two classify answers of respondent `number`: unique, so predictions can be counted."""
    change = f"{CHANGE} (respondent {number})"
    if slow:
        change += f" {SLOW}"
    if poison:
        change += f" {BREAKS_THE_MODEL}"
    return {"change_text": change, "protect_text": f"{PROTECT} (respondent {number})"}


def respond(survey: Survey, number: int, **kind: bool) -> Response:
    """Submit a response through the surveys services the views use (commit, then enqueue)."""
    response, _ = submit(survey, texts(number, **kind))
    return response


def respond_over_http(survey: Survey, number: int) -> tuple[str, float]:
    """Walk the whole form as a respondent; returns the receipt shown and the submit's seconds."""
    client = Client()
    token = start(client, survey)
    words = texts(number)
    answers: dict[str, dict[str, Any]] = {
        **DEFAULT_ANSWERS,
        "your_words": {
            "q_change_text": words["change_text"],
            "q_protect_text": words["protect_text"],
        },
    }
    elapsed = 0.0
    for index, code in enumerate(DEFAULT_PAGES_SHOWN):
        last = index == len(DEFAULT_PAGES_SHOWN) - 1
        started = time.monotonic()
        result = post(client, token, answers[code], "submit" if last else "next")
        elapsed = time.monotonic() - started
        assert result.status_code == 302, (code, result.content.decode()[:2000])
    assert result["Location"] == f"/s/{survey.slug}/thanks/"
    thanks = client.get(result["Location"])
    assert thanks.status_code == 200
    return receipt_code(thanks), elapsed


def rows_of(responses: list[Response]) -> Any:
    return Classification.objects.filter(answer__response__in=responses)


def settled(responses: list[Response], *, per_response: int, max_attempts: int = 3) -> bool:
    """Every row exists and is final: done, or failed with no attempt left."""
    rows = rows_of(responses)
    if rows.count() != per_response * len(responses):
        return False
    open_ = rows.exclude(status__in=[Classification.Status.DONE, Classification.Status.FAILED])
    return (
        not open_.exists()
        and not rows.filter(status=Classification.Status.FAILED, attempts__lt=max_attempts).exists()
    )


def assert_each_classified_once(
    responses: list[Response], predictions: Counter[str], *, per_response: int
) -> None:
    """No response lost, one row per answer and codebook, each predicted and stored once.

    `predictions` counts how often the workers predicted each text (the probe's log); a text
    carrying BREAKS_THE_MODEL is never predicted and must end failed with its error.
    """
    ids = [r.pk for r in responses]
    assert Response.objects.filter(pk__in=ids, status=Response.Status.COMPLETE).count() == len(ids)
    answers = Answer.objects.filter(response__in=ids, question__classify=True).exclude(text="")
    assert answers.count() == 2 * len(ids)
    rows = list(rows_of(responses).select_related("answer"))
    assert len(rows) == per_response * len(ids)
    per_pair = Counter((row.answer_id, row.codebook_id) for row in rows)
    assert set(per_pair.values()) == {1}, "two rows for one answer and codebook"
    per_answer = Counter(row.answer_id for row in rows)
    for row in rows:
        text = row.answer.text
        if BREAKS_THE_MODEL in text:
            assert row.status == Classification.Status.FAILED, (text, row.status)
            assert "ValueError" in row.error and "cannot handle" in row.error, row.error
            assert predictions[text] == 0
            continue
        assert row.status == Classification.Status.DONE, (text, row.status, row.error)
        assert row.model_version_id is not None and row.confidence is not None
        assert row.review_status in {
            "auto_coded",
            "provisional",
            "needs_review",
        }  # (a multi-label row may be empty)
        # Stored once and predicted once: one prediction per codebook the answer is coded under.
        assert predictions[text] == per_answer[row.answer_id], (text, predictions[text])
