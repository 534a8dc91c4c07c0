"""Each listed task is its own column and coding; alpha, beta and gamma per respondent.

The files are read back with pyreadstat and pandas; the scores are computed here by hand from the
codes each line was given.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from classifier.models import Classification, Codebook
from surveys.models import Answer
from tests.exports.conftest import client_for, downloaded, respond, unzip

PREFIX = "cls_main_tasks_task_exposure"
SCORE = "main_tasks"
# (lines, their codes); a respondent who lists no task has no score.
RESPONDENTS = [
    (
        ["Write scripts for product videos", "Retouch photos", "Rig lights on set"],
        ["E1", "E2", "E0"],
    ),
    (["为演员试穿戏服", "在片场操作摇臂"], ["E0", "E0"]),
    ([], []),
]


@pytest.fixture
def coded(default_survey):  # type: ignore[no-untyped-def]
    book = Codebook.objects.get(slug="task-exposure")
    for lines, codes in RESPONDENTS:
        response = respond(
            default_survey, {"occupation": "2655", **({"main_tasks": lines} if lines else {})}
        )
        answers = Answer.objects.filter(response=response, question__code="main_tasks")
        for answer in answers:
            Classification.objects.update_or_create(
                answer=answer,
                codebook=book,
                defaults={
                    "status": Classification.Status.DONE,
                    "labels": [codes[int(answer.row) - 1]],
                    "confidence": 0.9,
                },
            )
    return default_survey


def _data_file(user, job, suffix: str) -> bytes:  # type: ignore[no-untyped-def]
    files = unzip(downloaded(client_for(user).get(f"/exports/{job.pk}/download/")))
    return next(content for name, content in files.items() if name.endswith(suffix))


def _expected(codes: list[str]) -> tuple[float, float, float] | None:
    if not codes:
        return None
    n = len(codes)
    e1, e2 = codes.count("E1"), codes.count("E2")
    return e1 / n, (e1 + e2 / 2) / n, (e1 + e2) / n


def test_the_task_exposure_codebook_codes_only_the_main_tasks(default_survey) -> None:  # type: ignore[no-untyped-def]
    from classifier.models import codebooks_coding

    books = list(Codebook.objects.all())
    assert [b.slug for b in codebooks_coding("main_tasks", books)] == ["task-exposure"]
    assert [b.slug for b in codebooks_coding("change_text", books)] == ["displacement-risk"]
    categories = Codebook.objects.get(slug="task-exposure").categories.all()
    assert [c.code for c in categories] == ["E0", "E1", "E2"]
    assert all(c.definition["zh-hans"] and c.examples for c in categories)


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_lines_and_scores_are_columns_with_labels(coded, people, run_export, fmt) -> None:  # type: ignore[no-untyped-def]
    job = run_export(people.viewer, coded, format=fmt)
    assert job.status == "done", job.error
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"data.{fmt}"
        path.write_bytes(_data_file(people.viewer, job, f".{fmt}"))
        read = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
        frame, meta = read(str(path))
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert "alpha" in labels[f"{SCORE}_alpha"] and "gamma" in labels[f"{SCORE}_gamma"]
    assert {"main_tasks_1", "main_tasks_8", f"{PREFIX}_1", f"{PREFIX}_8"} <= set(frame.columns)
    by_first_task = {row["main_tasks_1"]: row for _, row in frame.iterrows()}
    for lines, codes in RESPONDENTS:
        row = by_first_task[lines[0] if lines else ""]
        expected = _expected(codes)
        if expected is None:
            assert pd.isna(row[f"{SCORE}_alpha"]) and pd.isna(row[f"{SCORE}_n_coded"])
            continue
        got = (row[f"{SCORE}_alpha"], row[f"{SCORE}_beta"], row[f"{SCORE}_gamma"])
        assert got == pytest.approx(expected)
        assert row[f"{SCORE}_n_coded"] == len(codes)
        # The reference of the respondent's occupation (2655 Actors: 27-2011.00 in the file).
        assert row["occupation_ref_gamma"] == pytest.approx(0.1875)
        assert [row[f"main_tasks_{n}"] for n in range(1, len(lines) + 1)] == lines


def test_csv_codebook_describes_the_scores(coded, people, run_export) -> None:  # type: ignore[no-untyped-def]
    job = run_export(people.viewer, coded, format="csv")
    assert job.status == "done", job.error
    files = unzip(downloaded(client_for(people.viewer).get(f"/exports/{job.pk}/download/")))
    data = next(c for name, c in files.items() if name.endswith(".csv") and "codebook" not in name)
    frame = pd.read_csv(io.BytesIO(data))
    assert sorted(frame[f"{SCORE}_gamma"].dropna()) == pytest.approx([0.0, 2 / 3])
    codebook = b"".join(content for name, content in files.items() if "codebook" in name)
    assert b"beta ((E1 + 0.5 x E2) / tasks)" in codebook
    assert b"Reference exposure of the occupation group (Eloundou et al. 2023" in codebook


def test_the_scores_show_on_the_response_in_the_admin(coded, admin_client) -> None:  # type: ignore[no-untyped-def]
    from django.urls import reverse

    from surveys.models import Response

    response = Response.objects.filter(answers__question__code="main_tasks").distinct().first()
    page = admin_client.get(reverse("admin:surveys_response_change", args=[response.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    # E1, E2, E0: alpha 1/3, beta 0.5, gamma 2/3, three tasks coded.
    for label, value in [
        ("alpha (share of tasks E1)", "0.33"),
        ("beta (", "0.50"),
        ("gamma (", "0.67"),
    ]:
        start = body.index(label)
        assert f"<td>{value}</td>" in body[start : start + 200]
