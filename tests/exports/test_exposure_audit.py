"""Provisional task codes and audit-corrected exposure, end to end through the real tables.

A task-exposure model biased on this survey (it calls many E0 and E2 tasks E1) codes every
task; the audit sample is drawn and routed by the audit service and partly coded by a person,
so the survey's audit is not large enough yet and the other model labels stay provisional.
Exports, the admin's response page and the exposure endpoint must say how many of each
respondent's codes are provisional; the endpoint must set the audit-corrected means (computed
here by hand from the same labels) beside the naive ones, and only for callers with raw access.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from classifier.audit.services import classifications_route
from classifier.coding.services import classification_code
from classifier.models import Classification, Codebook
from surveys.models import Question
from tests.api.helpers import API, token_client
from tests.classifier.factories import ModelVersionFactory
from tests.exports.conftest import client_for, downloaded, unzip
from tests.factories import AnswerFactory, ResponseFactory

pytestmark = pytest.mark.django_db

ALPHA = {"E0": 0.0, "E1": 1.0, "E2": 0.0}
GAMMA = {"E0": 0.0, "E1": 1.0, "E2": 1.0}
OCCUPATIONS = ["2655", "3431"]  # actors, photographers: 40 respondents each
CODED_AUDIT = 30  # below EXPOSURE_AUDIT_MIN: the audit cannot vouch for the model yet


def _model(truth: str, rng: np.random.Generator) -> str:
    return "E1" if truth != "E1" and rng.random() < 0.4 else truth


@pytest.fixture
def world(default_survey, settings) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    settings.EXPOSURE_AUDIT_SHARE = 0.3
    settings.EXPOSURE_AUDIT_MIN = 40
    book = Codebook.objects.get(slug="task-exposure")
    version = ModelVersionFactory(codebook=book, threshold=0.8, is_active=True)
    tasks = Question.objects.get(survey=default_survey, code="main_tasks")
    occupation = Question.objects.get(survey=default_survey, code="occupation")
    rng = np.random.default_rng(2026)
    truth: dict[int, str] = {}  # answer id -> true code
    rows, owner = [], {}
    for i in range(80):
        response = ResponseFactory(survey=default_survey, complete=True)
        AnswerFactory(response=response, question=occupation, choice=OCCUPATIONS[i % 2])
        e1 = rng.uniform(0.1, 0.5)
        for row in range(1, int(rng.integers(1, 5)) + 1):
            answer = AnswerFactory(
                response=response, question=tasks, row=str(row), text=f"task {i}.{row}"
            )
            draw = rng.random()
            truth[answer.pk] = "E1" if draw < e1 else "E2" if draw < e1 + 0.25 else "E0"
            owner[answer.pk] = response.pk
            label = _model(truth[answer.pk], rng)
            rows.append(
                Classification(
                    answer=answer,
                    codebook=book,
                    status=Classification.Status.DONE,
                    model_version=version,
                    labels=[label],
                    model_labels=[label],
                    confidence=0.95,
                )
            )
    Classification.objects.bulk_create(rows)
    classifications_route(ids=list(Classification.objects.values_list("pk", flat=True)))
    coder = get_user_model().objects.create_user("task-coder", is_staff=True)
    audit = Classification.objects.filter(audit=True).order_by("pk")
    assert audit.count() > CODED_AUDIT
    for item in audit[:CODED_AUDIT]:
        classification_code(classification=item, coder=coder, labels=[truth[item.answer_id]])
    return {"survey": default_survey, "truth": truth, "owner": owner}


def _lines(world: dict[str, Any]) -> list[dict[str, Any]]:
    """Every task line as the tables hold it now: model code, current code, audited truth."""
    out = []
    for answer_id, model, labels, source, occupation in Classification.objects.values_list(
        "answer_id", "model_labels", "labels", "source", "answer__response__answers__choice"
    ):
        if not occupation:  # the join reaches every answer of the response; keep the occupation
            continue
        out.append(
            {
                "response": world["owner"][answer_id],
                "occupation": occupation,
                "model": model[0],
                "current": labels[0],
                "human": labels[0] if source == "coder" else None,
            }
        )
    return out


def _by_respondent(lines, field, score):  # type: ignore[no-untyped-def]
    grouped: dict[int, list[float]] = {}
    for line in lines:
        grouped.setdefault(line["response"], []).append(score[line[field]])
    return {r: float(np.mean(v)) for r, v in grouped.items()}


def _corrected_by_hand(lines, score) -> float:  # type: ignore[no-untyped-def]
    """Mean over respondents of the model's scores + the 1/n_i-weighted audit error."""
    n = {}
    for line in lines:
        n[line["response"]] = n.get(line["response"], 0) + 1
    naive = float(np.mean(list(_by_respondent(lines, "model", score).values())))
    audited = [line for line in lines if line["human"] is not None]
    error = sum((score[a["human"]] - score[a["model"]]) / n[a["response"]] for a in audited)
    return naive + error / sum(1 / n[a["response"]] for a in audited)


def test_exposure_endpoint_sets_corrected_means_beside_the_naive_ones(world, people):  # type: ignore[no-untyped-def]
    lines = _lines(world)
    body = token_client(people.owner).get(f"{API}/surveys/{world['survey'].slug}/exposure/")
    assert body.status_code == 200, body.content[:300]
    data = body.json()
    assert data["estimates"]["available"] is True
    assert data["estimates"]["audited_tasks"] == CODED_AUDIT
    assert data["estimates"]["audit"]["status"] == "provisional"

    naive = np.mean(list(_by_respondent(lines, "current", ALPHA).values()))
    assert data["overall"]["alpha"]["mean"] == pytest.approx(naive)
    corrected = data["corrected"]
    assert corrected["alpha"]["mean"] == pytest.approx(_corrected_by_hand(lines, ALPHA))
    assert corrected["gamma"]["mean"] == pytest.approx(_corrected_by_hand(lines, GAMMA))
    assert corrected["alpha"]["low"] < corrected["alpha"]["mean"] < corrected["alpha"]["high"]
    assert corrected["alpha"]["audited"] == CODED_AUDIT and corrected["alpha"]["n"] == 80
    # The model over-codes E1: the correction pulls alpha down.
    assert corrected["alpha"]["mean"] < data["overall"]["alpha"]["mean"]

    actors = next(g for g in data["groups"] if g["code"] == "2655")
    mine = [line for line in lines if line["occupation"] == "2655"]
    assert actors["corrected"]["beta"]["mean"] == pytest.approx(
        _corrected_by_hand(mine, {"E0": 0.0, "E1": 1.0, "E2": 0.5})
    )
    # Every code not given by the coder is a model label the audit cannot vouch for yet.
    provisional = sum(line["human"] is None for line in mine) / len(mine)
    assert actors["provisional"]["share"] == pytest.approx(provisional)
    assert actors["provisional"]["any"] is True
    assert data["provisional"]["share"] == pytest.approx(1 - CODED_AUDIT / len(lines))


def test_callers_without_raw_access_get_no_corrected_figures(world):  # type: ignore[no-untyped-def]
    survey = world["survey"]
    survey.public_statistics = True
    survey.save(update_fields=["public_statistics"])
    data = token_client().get(f"{API}/surveys/{survey.slug}/exposure/").json()
    assert data["estimates"] is None and data["corrected"] is None
    assert all(group["corrected"] is None for group in data["groups"])
    assert data["provisional"]["share"] > 0  # the flag is for everyone


def test_without_coded_audit_items_the_correction_is_unavailable(world, people):  # type: ignore[no-untyped-def]
    Classification.objects.filter(source="coder").update(source="model", audit=False)
    data = token_client(people.owner).get(f"{API}/surveys/{world['survey'].slug}/exposure/")
    data = data.json()
    assert data["estimates"]["available"] is False
    assert "audit" in data["estimates"]["reason"]
    assert data["corrected"] is None and data["overall"]["alpha"]["mean"] is not None


def _expected_provisional(world: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for response_id, public_id, source in Classification.objects.values_list(
        "answer__response_id", "answer__response__public_id", "source"
    ):
        counts[public_id] = counts.get(public_id, 0) + (source != "coder")
    return counts


def test_exports_carry_the_provisional_count_with_its_label(world, people, run_export):  # type: ignore[no-untyped-def]
    expected = _expected_provisional(world)
    assert 0 < sum(expected.values()) < len(world["truth"])
    job = run_export(people.viewer, world["survey"], format="sav")
    assert job.status == "done", job.error
    files = unzip(downloaded(client_for(people.viewer).get(f"/exports/{job.pk}/download/")))
    content = next(c for name, c in files.items() if name.endswith(".sav"))
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "data.sav"
        path.write_bytes(content)
        frame, meta = pyreadstat.read_sav(str(path))
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert "provisionally" in labels["main_tasks_n_provisional"]
    got = dict(zip(frame["response_id"], frame["main_tasks_n_provisional"], strict=True))
    assert {key: int(value) for key, value in got.items()} == expected

    job = run_export(people.viewer, world["survey"], format="csv")
    files = unzip(downloaded(client_for(people.viewer).get(f"/exports/{job.pk}/download/")))
    data = next(c for name, c in files.items() if name.endswith(".csv") and "codebook" not in name)
    csv = pd.read_csv(io.BytesIO(data))
    assert dict(zip(csv["response_id"], csv["main_tasks_n_provisional"], strict=True)) == expected
    codebook = b"".join(content for name, content in files.items() if "codebook" in name)
    assert b"tasks coded provisionally" in codebook


def test_the_admin_response_page_shows_the_provisional_count(world, admin_client):  # type: ignore[no-untyped-def]
    from surveys.models import Response

    expected = _expected_provisional(world)
    public_id = next(key for key, value in expected.items() if value)
    response = Response.objects.get(public_id=public_id)
    page = admin_client.get(reverse("admin:surveys_response_change", args=[response.pk]))
    body = page.content.decode()
    start = body.index("tasks coded provisionally")
    assert f"<td>{expected[public_id]}</td>" in body[start : start + 200]
