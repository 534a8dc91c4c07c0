"""Every export format, read back with an independent reader: pandas, openpyxl, pyreadstat.

Expected values come from the survey definition (JSON) and the classifier's categories, never
from the code under test.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyreadstat
import pytest

from classifier.models import Category
from surveys.models import ExportJob, Response
from tests.exports.conftest import (
    CHINESE,
    CHINESE_PROTECT,
    FORMULA,
    SCRIPT,
    choice_label,
    client_for,
    question,
    streamed,
    unzip,
)

DISPLACEMENT = "cls_change_text_displacement_risk"
CONCERN_FLAGS = [
    f"cls_protect_text_concerns_{code}"
    for code in ["income", "likeness", "copyright", "quality", "misinformation", "skills", "energy"]
]


def _category(slug: str, code: str) -> Category:
    return Category.objects.get(codebook__slug=slug, code=code)


def _by_id(frame: pd.DataFrame, response: Response) -> pd.Series:
    rows = frame[frame["response_id"] == response.public_id]
    assert len(rows) == 1, frame["response_id"].tolist()
    return rows.iloc[0]


def _file(job: ExportJob, export_dir: Path) -> Path:
    assert job.status == ExportJob.Status.DONE, job.error
    path = export_dir / job.file
    assert path.is_file()
    assert path.stat().st_size == job.size
    return path


def _hashes() -> set[str]:
    values = Response.objects.values_list("resume_hash", "receipt_hash")
    return {value for pair in values for value in pair if value}


def _cells(frame: pd.DataFrame) -> set[str]:
    return {str(value) for value in frame.to_numpy().ravel().tolist()} | set(frame.columns)


# --- CSV -----------------------------------------------------------------------------------------
def test_streamed_csv_with_codes(population, people):  # type: ignore[no-untyped-def]
    result = client_for(people.viewer).get(
        f"/exports/survey/{population.survey.slug}/data.csv", {"values": "codes"}
    )
    assert result.status_code == 200
    assert result["Content-Type"] == "text/csv; charset=utf-8"
    assert result["X-Content-Type-Options"] == "nosniff"
    disposition = result["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"{population.survey.slug}_" in disposition and "_codes.csv" in disposition
    content = streamed(result)
    frame = pd.read_csv(io.BytesIO(content))  # pandas drops the UTF-8 BOM

    assert len(frame) == 2  # one row per complete response; the unfinished one is left out
    assert sorted(frame["response_id"]) == sorted(r.public_id for r in population.complete)
    english = _by_id(frame, population.english)
    chinese = _by_id(frame, population.chinese)
    assert english["employment_type"] == "freelance"
    assert chinese["employment_type"] == "staff"
    assert english["language"] == "en" and chinese["language"] == "zh-hans"
    # Numbers are numbers, and integer codes are written as numbers too.
    assert pd.api.types.is_numeric_dtype(frame["years_experience"])
    assert english["years_experience"] == 12 and chinese["years_experience"] == 3.5
    assert english["exposure_matrix_tasks_doable"] == 4
    assert english["lost_work"] == 1 and chinese["lost_work"] == 0
    assert english["tools_used_runway"] == 1 and english["tools_used_sora"] == 0
    # Text as given, except that formula-like text is neutralised with a leading quote.
    assert english["change_text"] == "'" + FORMULA
    assert english["anything_else"] == "'+1"
    assert chinese["anything_else"] == "'-2"
    assert english["protect_text"] == SCRIPT
    assert chinese["change_text"] == CHINESE
    assert chinese["protect_text"] == CHINESE_PROTECT
    # Classifications arrive as columns: category, confidence, review status, 0/1 flags.
    assert english[DISPLACEMENT] == "displaced" and chinese[DISPLACEMENT] == "augmentation"
    assert pd.api.types.is_numeric_dtype(frame[f"{DISPLACEMENT}_conf"])
    assert english[f"{DISPLACEMENT}_conf"] == pytest.approx(0.87)
    assert chinese[f"{DISPLACEMENT}_review"] == "needs_review"
    flags = {name: english[name] for name in CONCERN_FLAGS}
    assert flags == {
        **dict.fromkeys(CONCERN_FLAGS, 0),
        "cls_protect_text_concerns_likeness": 1,
        "cls_protect_text_concerns_copyright": 1,
    }
    assert pd.isna(chinese["cls_protect_text_concerns_likeness"])  # not coded: missing, not 0
    # Never the resume or receipt hashes.
    assert not any("hash" in column for column in frame.columns)
    text = content.decode("utf-8-sig")
    assert not any(value in text for value in _hashes())


def test_streamed_csv_all_responses_in_labels(population, people):  # type: ignore[no-untyped-def]
    result = client_for(people.owner).get(
        f"/exports/survey/{population.survey.slug}/data.csv",
        {"values": "labels", "language": "en", "responses": "all"},
    )
    assert result.status_code == 200
    frame = pd.read_csv(io.BytesIO(streamed(result)))
    assert len(frame) == 3
    unfinished = _by_id(frame, population.unfinished)
    assert unfinished["status"] == "In progress"
    assert unfinished["employment_type"] == "Represented by an agency"


def test_csv_job_in_chinese_labels_is_zipped_with_its_codebook(  # type: ignore[no-untyped-def]
    population, people, run_export, export_dir, default_definition
):
    job = run_export(
        people.viewer, population.survey, format="csv", labels=True, language="zh-hans"
    )
    files = unzip(_file(job, export_dir).read_bytes())
    stem = f"{population.survey.slug}_{job.created_at:%Y-%m-%d}_labels"
    assert sorted(files) == sorted([f"{stem}.csv", f"{stem}_codebook.csv", f"{stem}_codebook.html"])
    frame = pd.read_csv(io.BytesIO(files[f"{stem}.csv"]))
    assert len(frame) == job.rows_done == 2
    english = _by_id(frame, population.english)
    chinese = _by_id(frame, population.chinese)
    labels = {
        r: choice_label(default_definition, "employment_type", code, "zh-hans")
        for r, code in [("en", "freelance"), ("zh", "staff")]
    }
    assert english["employment_type"] == labels["en"]
    assert chinese["employment_type"] == labels["zh"]
    assert english["lost_work"] == "是" and chinese["lost_work"] == "否"
    assert english[DISPLACEMENT] == _category("displacement-risk", "displaced").label["zh-hans"]
    assert chinese[DISPLACEMENT] == _category("displacement-risk", "augmentation").label["zh-hans"]
    assert english["years_experience"] == 12  # numbers stay numbers in a labelled export
    assert chinese["change_text"] == CHINESE

    codebook = pd.read_csv(
        io.BytesIO(files[f"{stem}_codebook.csv"]), dtype=str, keep_default_na=False
    )
    variable = codebook[(codebook["name"] == "employment_type") & (codebook["code"] == "")]
    assert variable["label"].tolist() == [
        question(default_definition, "employment_type")["text"]["zh-hans"]
    ]
    category = codebook[(codebook["name"] == DISPLACEMENT) & (codebook["code"] == "displaced")]
    assert category["definition"].tolist() == [
        _category("displacement-risk", "displaced").definition["zh-hans"]
    ]
    html = files[f"{stem}_codebook.html"].decode("utf-8")
    assert question(default_definition, "change_text")["text"]["zh-hans"] in html


# --- XLSX ----------------------------------------------------------------------------------------
def test_xlsx_has_data_and_codebook_sheets(  # type: ignore[no-untyped-def]
    population, people, run_export, export_dir, default_definition
):
    job = run_export(people.editor, population.survey, format="xlsx", labels=False, language="en")
    path = _file(job, export_dir)
    sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    assert {"data", "codebook", "about"} <= set(sheets)
    data = sheets["data"]
    assert len(data) == 2
    english = _by_id(data, population.english)
    chinese = _by_id(data, population.chinese)
    assert english["employment_type"] == "freelance"
    assert english["years_experience"] == 12 and chinese["years_experience"] == 3.5
    assert english["change_text"] == "'" + FORMULA
    assert chinese["anything_else"] == "'-2"
    assert english["protect_text"] == SCRIPT
    assert chinese["change_text"] == CHINESE
    assert english[DISPLACEMENT] == "displaced"
    assert english[f"{DISPLACEMENT}_conf"] == pytest.approx(0.87)
    assert english["cls_protect_text_concerns_likeness"] == 1
    assert not (_cells(data) & _hashes())

    # openpyxl on its own: the formula-like answer is a plain string cell, not a formula.
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["data"]
    header = [cell.value for cell in sheet[1]]
    column = header.index("change_text") + 1
    cells = [sheet.cell(row=r, column=column) for r in range(2, sheet.max_row + 1)]
    assert all(cell.data_type == "s" for cell in cells)
    assert "'" + FORMULA in [cell.value for cell in cells]

    codebook = sheets["codebook"]
    variable = codebook[(codebook["name"] == "employment_type") & codebook["code"].isna()]
    assert variable["label"].tolist() == [
        question(default_definition, "employment_type")["text"]["en"]
    ]
    choices = codebook[(codebook["name"] == "employment_type") & codebook["code"].notna()]
    assert dict(zip(choices["code"], choices["value_label"], strict=True)) == {
        **{
            c["code"]: c["label"]["en"]
            for c in question(default_definition, "employment_type")["choices"]
        },
        -99: "Not shown (skip logic)",  # why a cell is empty: numbers, as in the data sheet
        -98: "Shown but not answered",
    }
    displaced = codebook[(codebook["name"] == DISPLACEMENT) & (codebook["code"] == "displaced")]
    assert displaced["value_label"].tolist() == ["Displaced"]
    assert displaced["definition"].tolist() == [
        _category("displacement-risk", "displaced").definition["en"]
    ]
    about = dict(zip(sheets["about"]["field"], sheets["about"]["value"], strict=False))
    assert about["survey"] == population.survey.slug
    assert about["rows"] == 2 or about["rows"] == "2"


# --- SAV and DTA ---------------------------------------------------------------------------------
def _statistical(job: ExportJob, export_dir: Path, tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    files = unzip(_file(job, export_dir).read_bytes())
    data_name = next(n for n in files if n.endswith(f".{job.format}"))
    path = tmp_path / data_name
    path.write_bytes(files[data_name])
    book_name = next(n for n in files if n.endswith("_codebook.csv"))
    # keep_default_na=False: "NA" is Namibia's code, not a missing value.
    codebook = pd.read_csv(io.BytesIO(files[book_name]), dtype=str, keep_default_na=False)
    return path, codebook[codebook["code"] == ""].set_index("name")


def _check_statistical(  # type: ignore[no-untyped-def]
    frame: pd.DataFrame, meta: Any, names: dict[str, str], population, definition, language: str
) -> None:
    frame = frame.rename(columns={v: k for k, v in names.items()})
    labels = {v: meta.column_names_to_labels[names[v]] for v in names}
    value_labels = {v: meta.variable_value_labels.get(names[v], {}) for v in names}
    assert len(frame) == 2
    english = _by_id(frame, population.english)
    chinese = _by_id(frame, population.chinese)
    # Variable labels: the question wording in the chosen language.
    assert labels["employment_type"] == question(definition, "employment_type")["text"][language]
    # Categories: numbers with value labels in the chosen language.
    employment = {
        c["code"]: c["label"][language] for c in question(definition, "employment_type")["choices"]
    }
    reasons = {"en": {"Not shown (skip logic)", "Shown but not answered"}}
    reasons["zh-hans"] = {"未显示（跳转逻辑）", "已显示但未回答"}
    assert (
        set(value_labels["employment_type"].values())
        == set(employment.values()) | reasons[language]
    )
    assert value_labels["employment_type"][english["employment_type"]] == employment["freelance"]
    assert value_labels["employment_type"][chinese["employment_type"]] == employment["staff"]
    # Integer codes keep their value (likert 1..5 with "na" are numbered instead: not asserted).
    assert english["years_experience"] == 12 and chinese["years_experience"] == 3.5
    assert english["lost_work"] == 1 and chinese["lost_work"] == 0
    # Text exactly as given (no spreadsheet neutralising in statistical formats).
    assert english["change_text"] == FORMULA
    assert english["protect_text"] == SCRIPT
    assert chinese["change_text"] == CHINESE
    # The classification: category with its label, confidence, flags.
    displaced = _category("displacement-risk", "displaced").label[language]
    assert value_labels[DISPLACEMENT][english[DISPLACEMENT]] == displaced
    assert english[f"{DISPLACEMENT}_conf"] == pytest.approx(0.87)
    assert english["cls_protect_text_concerns_likeness"] == 1
    assert english["cls_protect_text_concerns_income"] == 0
    assert not (_cells(frame) & _hashes())


def test_sav_with_variable_and_value_labels(  # type: ignore[no-untyped-def]
    population, people, run_export, export_dir, tmp_path, default_definition
):
    job = run_export(people.viewer, population.survey, format="sav", language="zh-hans")
    path, codebook = _statistical(job, export_dir, tmp_path)
    frame, meta = pyreadstat.read_sav(str(path))
    names = codebook["sav_name"].to_dict()
    assert list(frame.columns) == [names[n] for n in codebook.index]
    _check_statistical(frame, meta, names, population, default_definition, "zh-hans")


def test_dta_with_variable_and_value_labels(  # type: ignore[no-untyped-def]
    population, people, run_export, export_dir, tmp_path, default_definition
):
    job = run_export(people.owner, population.survey, format="dta", language="en")
    path, codebook = _statistical(job, export_dir, tmp_path)
    frame, meta = pyreadstat.read_dta(str(path))
    names = codebook["dta_name"].to_dict()
    assert list(frame.columns) == [names[n] for n in codebook.index]
    _check_statistical(frame, meta, names, population, default_definition, "en")


# --- codebook on its own -------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["html", "csv", "json", "md"])
def test_codebook_download(population, people, fmt, default_definition):  # type: ignore[no-untyped-def]
    result = client_for(people.viewer).get(
        f"/exports/survey/{population.survey.slug}/codebook/",
        {"format": fmt, "language": "zh-hans"},
    )
    assert result.status_code == 200
    assert result["X-Content-Type-Options"] == "nosniff"
    assert result["Content-Disposition"].startswith("attachment;")
    text = result.content.decode("utf-8-sig")
    assert question(default_definition, "protect_text")["text"]["zh-hans"] in text
    assert _category("concerns", "likeness").definition["zh-hans"] in text
    # No answers in a codebook.
    assert CHINESE not in text and population.english.public_id not in text
