"""Edits a researcher may make to an open survey never break an export or drop what was answered.

After each allowed edit (reword a label, hide a chosen choice, add a choice, add a question, edit
skip logic) every format is written and read back by an independent reader: pandas for CSV,
openpyxl for Excel, pyreadstat for SPSS and Stata. The answers given before the edit, including
an "other, please specify" text, must all still be there, with value labels for every code.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyreadstat
import pytest

from surveys.models import Choice, ExportJob, Page, Question, Survey
from surveys.respondent import services
from tests.exports.conftest import ENGLISH_ANSWERS, unzip

OTHER_TEXT = "puppeteer for hire"


def _rename_label(survey: Survey) -> None:
    choice = Choice.objects.get(
        question__survey=survey, question__code="employment_type", code="other"
    )
    choice.label = {"en": "Something else", "zh-hans": "其他情况"}
    choice.save()


def _hide_choice(survey: Survey) -> None:
    Choice.objects.filter(
        question__survey=survey, question__code="employment_type", code__in=["other", "freelance"]
    ).update(hidden=True)
    Choice.objects.filter(
        question__survey=survey, question__code="tools_used", code="runway"
    ).update(hidden=True)


def _add_choice(survey: Survey) -> None:
    question = Question.objects.get(survey=survey, code="employment_type")
    Choice.objects.create(
        question=question,
        code="collective",
        position=99,
        label={"en": "Collective", "zh-hans": "集体"},
    )


def _add_question(survey: Survey) -> None:
    page = Page.objects.get(survey=survey, code="about_you")
    Question.objects.create(
        survey=survey,
        page=page,
        code="studio_size",
        position=99,
        type=Question.Type.SINGLE_CHOICE,
        text={"en": "Studio size?", "zh-hans": "工作室规模？"},
    ).choices.create(code="small", position=1, label={"en": "Small", "zh-hans": "小"})


def _edit_condition(survey: Survey) -> None:
    page = Page.objects.get(survey=survey, code="loss_details")
    page.condition = {"question": "employment_type", "op": "equals", "value": "other"}
    page.save()


EDITS: dict[str, Callable[[Survey], None]] = {
    "rename label": _rename_label,
    "hide choice": _hide_choice,
    "add choice": _add_choice,
    "add question": _add_question,
    "edit condition": _edit_condition,
}


def _respond_with_other(survey: Survey) -> None:
    """One complete response that chose "other" employment and specified it."""
    response, _token = services.response_start(survey=survey, language="en")
    for page in Page.objects.filter(survey=survey).order_by("position"):
        values = {
            q.code: services.PageValue(ENGLISH_ANSWERS[q.code])
            for q in page.questions.all()
            if q.code in ENGLISH_ANSWERS
        }
        if page.code == "about_you":
            values["employment_type"] = services.PageValue("other", OTHER_TEXT)
        response = services.response_save_page(response=response, page=page, values=values)
    services.response_complete(response=response)


def _read(job: ExportJob, export_dir: Path, tmp_path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The data as the format's own reader sees it, and {variable: {value: label}}."""
    assert job.status == ExportJob.Status.DONE, job.error
    path = export_dir / job.file
    if job.format == "xlsx":
        workbook = openpyxl.load_workbook(path, read_only=True)
        rows = list(workbook["data"].values)
        return pd.DataFrame(rows[1:], columns=rows[0]), {}
    files = unzip(path.read_bytes())
    name = next(n for n in files if n.endswith(f".{job.format}"))
    if job.format == "csv":
        return pd.read_csv(io.BytesIO(files[name]), dtype=str, keep_default_na=False), {}
    target = tmp_path / name
    target.write_bytes(files[name])
    reader = pyreadstat.read_sav if job.format == "sav" else pyreadstat.read_dta
    frame, meta = reader(str(target))
    return frame, meta.variable_value_labels


@pytest.mark.parametrize("edit", list(EDITS))
def test_every_format_survives_each_allowed_edit(  # type: ignore[no-untyped-def]
    edit, default_survey, people, run_export, export_dir, tmp_path
):
    survey = default_survey
    _respond_with_other(survey)
    EDITS[edit](survey)
    for fmt in ("csv", "xlsx", "sav", "dta"):
        job = run_export(people.owner, survey, format=fmt, language="en")
        frame, value_labels = _read(job, export_dir, tmp_path)
        assert len(frame) == 1, fmt
        columns = [str(c) for c in frame.columns]
        other = next(c for c in columns if c.startswith("employment_type_other"))
        assert str(frame[other].iloc[0]) == OTHER_TEXT, fmt
        employment = next(c for c in columns if c == "employment_type" or c.startswith("employm"))
        value = frame[employment].iloc[0]
        if value_labels:  # SPSS and Stata: the stored code has its value label
            labels = value_labels[employment]
            assert value in labels, (fmt, value, labels)
            expected = "Something else" if edit == "rename label" else "Other"
            assert labels[value].startswith(expected), labels
        else:
            assert str(value) == "other", fmt
        tools = [c for c in columns if c.startswith("tools_used_") and "runway" in c]
        assert tools, (fmt, columns)  # a hidden choice keeps its flag variable
        assert str(frame[tools[0]].iloc[0]) in ("1", "1.0", "True"), fmt
