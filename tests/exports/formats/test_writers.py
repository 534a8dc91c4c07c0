"""Export file writers, checked by reading each file back with an independent reader.

CSV with pandas.read_csv, XLSX with pandas.read_excel / openpyxl, SAV and DTA with pyreadstat.
No database: `surveys.exports.formats` is a plain library fed by the Django layer.
"""

from __future__ import annotations

import csv
import datetime as dt
import html.parser
import io
import itertools
import json
import math
import re
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.exports.formats import (
    FORMULA_TRIGGERS,
    TRUNCATION_MARKER,
    Codebook,
    ExportError,
    Variable,
    WriteReport,
    codebook_dict,
    iter_csv,
    neutralise,
    render_codebook,
    spss_names,
    stata_names,
    variable_layouts,
    write_codebook,
    write_csv,
    write_dta,
    write_sav,
    write_xlsx,
)
from surveys.exports.formats.layout import SPSS_RESERVED, STATA_RESERVED

ROOT = Path(__file__).resolve().parents[3]

LONG_NAME = "exposure_matrix_tasks_doable_with_generative_video_tools_within_the_next_five_years"
LONG_LABEL = (
    "Thinking about the tasks in your current job, which of them could a generative video tool "
    "already do to a standard a client would accept?"
)
RISK_DEFINITIONS = {
    "high": "Core paid tasks can already be done by the tool at client quality.",
    "low": "The tool assists but cannot replace the core paid tasks.",
}

VARIABLES = [
    Variable(
        "occupation",
        "What is your occupation?",
        "categorical",
        {"2655": "Actors", "2166": "Graphic designers"},
    ),
    Variable(
        "employment",
        "How are you employed?",
        "categorical",
        {"freelance": "Freelance", "employed": "Employed", "both": "Both"},
    ),
    Variable(
        "agree",
        "AI will change my work",
        "categorical",
        {"1": "Disagree", "2": "Neutral", "3": "Agree"},
        measure="ordinal",
    ),
    Variable("tool_sora", "Tools used: Sora", "multi_flag"),
    Variable("years", "Years in the profession", "numeric"),
    Variable("comment", "你对生成式视频有什么看法？", "text"),
    Variable("submitted_at", "Submitted at", "datetime"),
    Variable(
        "cls_displacement_risk",
        "Displacement risk (classifier)",
        "categorical",
        {"high": "High risk", "low": "Low risk"},
        value_definitions=RISK_DEFINITIONS,
    ),
    Variable("cls_displacement_risk_conf", "Classifier confidence", "numeric"),
    Variable(LONG_NAME, LONG_LABEL, "multi_flag"),
    Variable("in", "A name Stata reserves", "numeric"),
]

SUBMITTED = dt.datetime(2025, 3, 1, 12, 30, 15, tzinfo=dt.UTC)
ROWS: list[list[Any]] = [
    ["2655", "freelance", "3", 1, 12, "我觉得它会改变一切", SUBMITTED, "high", 0.91, 1, 1],
    [
        "2166",
        "employed",
        "1",
        0,
        Decimal("2.5"),
        'He said "no", then left,\nfor good.',
        None,
        "low",
        0.55,
        0,
        -4,
    ],
    [None, None, None, None, None, None, None, None, None, None, None],
]
NAMES = [variable.name for variable in VARIABLES]


def csv_frame(data: bytes, **kwargs: Any) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), **kwargs)


def csv_bytes(rows: Any, variables: list[Variable] = VARIABLES, **kwargs: Any) -> bytes:
    buffer = io.BytesIO()
    write_csv(rows, variables, buffer, **kwargs)
    return buffer.getvalue()


# --- CSV -----------------------------------------------------------------------------------------


def test_csv_codes_mode_reads_back_with_numbers_as_numbers() -> None:
    out = io.BytesIO()
    assert write_csv(ROWS, VARIABLES, out, labels=False) == 3
    frame = csv_frame(out.getvalue())

    assert list(frame.columns) == NAMES
    assert frame["occupation"].tolist()[:2] == [2655, 2166]
    assert pd.api.types.is_numeric_dtype(frame["occupation"])
    assert frame["employment"].tolist()[:2] == ["freelance", "employed"]
    assert pd.api.types.is_numeric_dtype(frame["years"])
    assert frame["years"].tolist()[:2] == [12, 2.5]
    assert frame["tool_sora"].tolist()[:2] == [1, 0]
    assert frame["in"].tolist()[:2] == [1, -4]
    assert frame["comment"].tolist()[:2] == [ROWS[0][5], ROWS[1][5]]
    assert frame["submitted_at"][0] == "2025-03-01T12:30:15"
    assert frame.iloc[2].isna().all()


def test_csv_labels_mode_writes_labels_and_keeps_numbers() -> None:
    frame = csv_frame(csv_bytes(ROWS, labels=True))

    assert frame["occupation"].tolist()[:2] == ["Actors", "Graphic designers"]
    assert frame["agree"].tolist()[:2] == ["Agree", "Disagree"]
    assert frame["cls_displacement_risk"].tolist()[:2] == ["High risk", "Low risk"]
    assert frame["cls_displacement_risk_conf"].tolist()[:2] == [0.91, 0.55]
    assert frame["tool_sora"].tolist()[:2] == [1, 0]
    assert pd.api.types.is_numeric_dtype(frame["years"])


def test_csv_bom_is_optional() -> None:
    plain = csv_bytes(ROWS, labels=False)
    with_bom = csv_bytes(ROWS, labels=False, bom=True)

    assert not plain.startswith(b"\xef\xbb\xbf")
    assert with_bom == b"\xef\xbb\xbf" + plain
    pd.testing.assert_frame_equal(
        csv_frame(with_bom, encoding="utf-8-sig"), csv_frame(plain, encoding="utf-8")
    )


def test_csv_text_and_binary_streams_get_the_same_file() -> None:
    text = io.StringIO(newline="")
    assert write_csv(ROWS, VARIABLES, text, labels=False, bom=True) == 3
    assert text.getvalue().encode("utf-8") == csv_bytes(ROWS, labels=False, bom=True)
    assert b"".join(iter_csv(ROWS, VARIABLES, labels=False)) == csv_bytes(ROWS, labels=False)


@pytest.mark.parametrize(
    "text",
    [
        "中文，含逗号, and a comma",
        'a "quoted" word',
        "two\nlines",
        "windows\r\nline",
        "trailing space ",
        "  leading space",
        "emoji 😀 and 汉字",
        "NA",
        "null",
        "",
    ],
)
def test_csv_tricky_text_round_trips(text: str) -> None:
    variables = [Variable("id", "id", "numeric"), Variable("t", "t", "text")]
    frame = csv_frame(
        csv_bytes([[1, text]], variables, labels=False), dtype=str, keep_default_na=False
    )
    assert frame["t"].tolist() == [text]


FORMULA_CASES = [
    "=1+1",
    "+cmd",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "-3",
    "+1 555",
    '=HYPERLINK("x")',
]
SAFE_TEXT = ["1+1", "a=b", "'=already quoted", "中文=1", " =1", "3"]


@pytest.mark.parametrize("text", FORMULA_CASES)
def test_csv_formula_like_text_is_prefixed_with_a_quote(text: str) -> None:
    variables = [Variable("id", "id", "numeric"), Variable("t", "t", "text")]
    frame = csv_frame(
        csv_bytes([[1, text]], variables, labels=False), dtype=str, keep_default_na=False
    )
    assert frame["t"].tolist() == ["'" + text]


@pytest.mark.parametrize("text", SAFE_TEXT)
def test_csv_ordinary_text_is_not_prefixed(text: str) -> None:
    variables = [Variable("id", "id", "numeric"), Variable("t", "t", "text")]
    frame = csv_frame(
        csv_bytes([[1, text]], variables, labels=False), dtype=str, keep_default_na=False
    )
    assert frame["t"].tolist() == [text]


@pytest.mark.parametrize(
    "number", [-5, -5.25, Decimal("-3"), Decimal("-0.5"), np.int64(-7), np.float64(-2.5)]
)
def test_csv_negative_numbers_stay_numbers(number: Any) -> None:
    variables = [Variable("n", "n", "numeric"), Variable("t", "t", "text")]
    data = csv_bytes([[number, "-5"]], variables, labels=False)
    frame = csv_frame(data)
    assert data.splitlines()[1] == f"{number},'-5".encode()
    assert pd.api.types.is_numeric_dtype(frame["n"])
    assert frame["n"].tolist() == [float(number)]
    assert frame["t"].tolist() == ["'-5"]


def test_csv_negative_integer_codes_are_numbers_and_formula_like_labels_are_prefixed() -> None:
    variables = [
        Variable("q", "q", "categorical", {"-1": "-Don't know-", "1": "Yes"}),
        Variable("c", "c", "categorical", {"=x": "=label"}),
    ]
    codes = csv_frame(csv_bytes([["-1", "=x"], [1, "=x"]], variables, labels=False))
    labels = csv_frame(csv_bytes([["-1", "=x"]], variables, labels=True))
    assert codes["q"].tolist() == [-1, 1]
    assert codes["c"].tolist() == ["'=x", "'=x"]
    assert labels.iloc[0].tolist() == ["'-Don't know-", "'=label"]


def test_csv_code_without_a_label_is_written_as_the_code() -> None:
    variables = [Variable("q", "q", "categorical", {"a": "Alpha"})]
    frame = csv_frame(csv_bytes([["a"], ["zz"], ["7"]], variables, labels=True), dtype=str)
    assert frame["q"].tolist() == ["Alpha", "zz", "7"]


def test_row_with_the_wrong_number_of_values_is_rejected() -> None:
    with pytest.raises(ExportError, match="row 1: 2 values for 11 variables"):
        csv_bytes([ROWS[0], ["a", "b"]], labels=False)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        (Variable("n", "n", "numeric"), "many"),
        (Variable("f", "f", "multi_flag"), 2),
        (Variable("d", "d", "datetime"), 12),
        (Variable("d", "d", "datetime"), "last tuesday"),
    ],
)
def test_values_of_the_wrong_type_are_rejected_with_the_variable_named(
    variable: Variable, value: Any
) -> None:
    with pytest.raises(ExportError, match=f"^{variable.name}: "):
        csv_bytes([[value]], [variable], labels=False)


text_cells = st.text(st.characters(codec="utf-8"), max_size=60)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(text_cells, min_size=1, max_size=8))
def test_any_text_round_trips_through_csv_apart_from_the_documented_prefix(
    texts: list[str],
) -> None:
    variables = [Variable("id", "id", "numeric"), Variable("t", "t", "text")]
    data = csv_bytes([[i, text] for i, text in enumerate(texts)], variables, labels=False)
    frame = csv_frame(data, dtype=str, keep_default_na=False)
    assert frame["t"].tolist() == [neutralise(text) for text in texts]
    assert all(
        cell == text or (cell == "'" + text and text.startswith(FORMULA_TRIGGERS))
        for cell, text in zip(frame["t"], texts, strict=True)
    )


@given(st.text())
def test_neutralise_is_idempotent_and_only_ever_prefixes(text: str) -> None:
    once = neutralise(text)
    assert neutralise(once) == once
    assert once in (text, "'" + text)
    assert not once.startswith(FORMULA_TRIGGERS)
    assert (once != text) == text.startswith(FORMULA_TRIGGERS)


def _many_rows(count: int) -> Iterator[list[Any]]:
    for i in range(count):
        yield [
            str(2655 if i % 2 else 2166),
            "freelance",
            "2",
            i % 2,
            i,
            f"回答 {i} = fine",
            SUBMITTED,
            "low",
            0.5,
            0,
            -i,
        ]


@pytest.mark.slow
def test_iter_csv_streams_in_constant_memory() -> None:
    count = 200_000
    tracemalloc.start()
    try:
        total = 0
        for chunk in iter_csv(_many_rows(count), VARIABLES, labels=True):
            total += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert total > 20_000_000  # the whole file: ~20 MB
    # What was held at once: a chunk or two and the current batch of rows (CELL_BATCH, as text).
    assert peak < 2_000_000
    assert peak < total / 16


def test_iter_csv_hands_out_chunks_before_the_rows_run_out() -> None:
    endless = ([i, "x" * 100] for i in itertools.count())
    chunks = iter_csv(
        endless, [Variable("i", "i", "numeric"), Variable("t", "t", "text")], labels=False
    )
    first = next(chunks)
    assert first.startswith(b"i,t\r\n0,")


# --- XLSX ----------------------------------------------------------------------------------------


def test_xlsx_has_data_and_codebook_sheets(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    codebook = Codebook(VARIABLES, title="Exposure pilot", language="zh-Hans", notes=["Wave 1"])
    assert write_xlsx(ROWS, VARIABLES, path, labels=False, codebook=codebook) == 3

    # pandas drops trailing all-empty rows; openpyxl shows the all-missing response is there.
    assert openpyxl.load_workbook(path, read_only=True)["data"].max_row == 4
    sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    assert list(sheets)[:2] == ["data", "codebook"]
    data = sheets["data"]
    assert list(data.columns) == NAMES
    assert data["occupation"].tolist()[:2] == [2655, 2166]
    assert data["employment"].tolist()[:2] == ["freelance", "employed"]
    assert pd.api.types.is_numeric_dtype(data["years"])
    assert data["years"].tolist()[:2] == [12, 2.5]
    assert data["comment"].tolist()[:2] == [ROWS[0][5], ROWS[1][5]]
    assert data["submitted_at"][0] == pd.Timestamp("2025-03-01 12:30:15")

    book = sheets["codebook"]
    risk = book[(book["name"] == "cls_displacement_risk") & book["code"].notna()]
    assert risk["code"].tolist() == ["high", "low"]
    assert risk["numeric_code"].tolist() == [1, 2]
    assert risk["definition"].tolist() == list(RISK_DEFINITIONS.values())
    long_row = book[(book["name"] == LONG_NAME) & book["code"].isna()].iloc[0]
    assert len(long_row["dta_name"]) <= 32
    assert long_row["dta_label"].endswith("…")
    assert "Wave 1" in sheets["about"]["value"].tolist()


def test_xlsx_labels_mode(tmp_path: Path) -> None:
    path = tmp_path / "labels.xlsx"
    write_xlsx(ROWS, VARIABLES, path, labels=True)
    data = pd.read_excel(path, sheet_name="data", engine="openpyxl")
    assert data["occupation"].tolist()[:2] == ["Actors", "Graphic designers"]
    assert data["cls_displacement_risk_conf"].tolist()[:2] == [0.91, 0.55]


def ooxml_unescape(text: str) -> str:
    """Decode ECMA-376 _xHHHH_ escapes (Excel decodes them; openpyxl leaves them as they are)."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


@pytest.mark.parametrize("text", FORMULA_CASES)
def test_xlsx_formula_like_text_is_prefixed_and_never_a_formula(tmp_path: Path, text: str) -> None:
    path = tmp_path / "formula.xlsx"
    variables = [
        Variable("n", "n", "numeric"),
        Variable("t", "t", "text"),
        Variable("c", "=label", "categorical", {"x": "@label"}),
    ]
    write_xlsx([[-5, text, "x"]], variables, path, labels=True)

    data = pd.read_excel(path, sheet_name="data", engine="openpyxl", dtype=object)
    assert [ooxml_unescape(value) for value in data["t"]] == ["'" + text]
    assert data["n"].tolist() == [-5]
    assert data["c"].tolist() == ["'@label"]
    workbook = openpyxl.load_workbook(path)
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_TRIGGERS), (sheet.title, cell.value)
    assert workbook["data"]["A2"].data_type == "n"


def test_xlsx_long_text_is_cut_to_the_cell_limit_with_a_marker(tmp_path: Path) -> None:
    path = tmp_path / "long.xlsx"
    report = WriteReport()
    variables = [Variable("t", "t", "text")]
    write_xlsx([["长" * 40_000], ["short"]], variables, path, labels=False, report=report)

    cell = openpyxl.load_workbook(path)["data"]["A2"].value
    assert len(cell) == 32_767
    assert cell.endswith(TRUNCATION_MARKER)
    assert cell.startswith("长" * 100)
    assert report.truncated == {"t": 1}
    about = pd.read_excel(path, sheet_name="about", engine="openpyxl")
    assert any("1 value(s) of t were truncated" in str(value) for value in about["value"])


# --- SAV and DTA ---------------------------------------------------------------------------------

READERS = {"sav": (write_sav, pyreadstat.read_sav), "dta": (write_dta, pyreadstat.read_dta)}


def written(
    fmt: str, tmp_path: Path, rows: Any = ROWS, variables: list[Variable] = VARIABLES, **kw: Any
):  # type: ignore[no-untyped-def]
    write, read = READERS[fmt]
    path = tmp_path / f"export.{fmt}"
    count = write(rows, variables, path, **kw)
    frame, meta = read(path)
    return count, frame, meta


def _as_list(series: pd.Series) -> list[Any]:
    return [None if (isinstance(v, float) and math.isnan(v)) or v is pd.NA else v for v in series]


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_statistical_files_keep_values_labels_and_missing_values(fmt: str, tmp_path: Path) -> None:
    count, frame, meta = written(fmt, tmp_path)
    layouts = {layout.variable.name: layout for layout in variable_layouts(VARIABLES)}
    name = {key: getattr(layout, f"{fmt}_name") for key, layout in layouts.items()}

    assert count == 3
    assert list(frame.columns) == [name[n] for n in NAMES]
    labels = meta.column_names_to_labels
    assert labels[name["comment"]] == "你对生成式视频有什么看法？"
    assert labels[name["occupation"]] == "What is your occupation?"

    assert _as_list(frame[name["occupation"]]) == [2655, 2166, None]
    assert _as_list(frame[name["employment"]]) == [1, 2, None]
    assert _as_list(frame[name["agree"]]) == [3, 1, None]
    assert _as_list(frame[name["cls_displacement_risk"]]) == [1, 2, None]
    assert _as_list(frame[name["tool_sora"]]) == [1, 0, None]
    assert _as_list(frame[name["years"]]) == [12, 2.5, None]
    assert _as_list(frame[name["in"]]) == [1, -4, None]
    assert frame[name["comment"]].tolist() == [ROWS[0][5], ROWS[1][5], ""]
    assert frame[name["submitted_at"]][0] == pd.Timestamp("2025-03-01 12:30:15")
    assert frame[name["submitted_at"]][1:].isna().all()

    value_labels = meta.variable_value_labels
    assert value_labels[name["occupation"]] == {2655: "Actors", 2166: "Graphic designers"}
    assert value_labels[name["employment"]] == {1: "Freelance", 2: "Employed", 3: "Both"}
    assert value_labels[name["agree"]] == {1: "Disagree", 2: "Neutral", 3: "Agree"}
    assert value_labels[name["tool_sora"]] == {0: "not selected", 1: "selected"}
    assert value_labels[name[LONG_NAME]] == {0: "not selected", 1: "selected"}
    assert name["years"] not in value_labels


def test_sav_names_measures_and_notes(tmp_path: Path) -> None:
    codebook = Codebook(VARIABLES, title="Exposure 试点", notes=["Wave 1 of the 试点 study. " * 8])
    _, frame, meta = written("sav", tmp_path, codebook=codebook)

    assert LONG_NAME[:60] not in frame.columns  # 84 characters: too long for SPSS's 64 bytes
    assert all(
        len(c.encode()) <= 64 and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", c) for c in frame.columns
    )
    assert meta.column_names_to_labels[frame.columns[9]] == LONG_LABEL
    assert meta.variable_measure["agree"] == "ordinal"
    assert meta.variable_measure["employment"] == "nominal"
    assert meta.variable_measure["years"] == "scale"
    assert meta.file_label == "Exposure 试点"
    assert meta.file_encoding == "UTF-8"
    assert "".join(meta.notes).replace(" ", "") == ("Wave 1 of the 试点 study. " * 8).replace(
        " ", ""
    )


def test_dta_is_format_118_with_stata_names_and_short_labels(tmp_path: Path) -> None:
    _, frame, meta = written("dta", tmp_path, codebook=Codebook(VARIABLES, title="Exposure"))

    assert (
        (tmp_path / "export.dta")
        .read_bytes()
        .startswith(b"<stata_dta><header><release>118</release>")
    )
    columns = list(frame.columns)
    assert all(len(c) <= 32 and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", c) for c in columns)
    assert not set(columns) & STATA_RESERVED
    assert columns[10] == "v_in"
    assert columns[9].startswith("exposure_matrix_tasks_doa")
    label = meta.column_names_to_labels[columns[9]]
    assert len(label) == 80
    assert label == LONG_LABEL[:79] + "…"
    assert meta.file_label == "Exposure"


def test_sav_cuts_very_long_text_to_32767_bytes_and_says_so(tmp_path: Path) -> None:
    report = WriteReport()
    variables = [Variable("t", "t", "text")]
    _, frame, meta = written("sav", tmp_path, [["长" * 20_000], ["短"]], variables, report=report)

    text = frame["t"][0]
    assert len(text.encode("utf-8")) <= 32_767
    assert text.endswith(TRUNCATION_MARKER)
    assert text.startswith("长" * 10_000)
    assert frame["t"][1] == "短"
    assert report.truncated == {"t": 1}
    assert "truncated" in " ".join(meta.notes)


def test_dta_keeps_long_text_whole_as_strl(tmp_path: Path) -> None:
    long_text = "长文本 with ASCII " * 2_000
    variables = [Variable("t", "t", "text")]
    _, frame, _ = written("dta", tmp_path, [[long_text], ["短"]], variables)
    assert frame["t"].tolist() == [long_text, "短"]


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_unknown_non_integer_code_is_an_error_not_a_silent_missing(
    fmt: str, tmp_path: Path
) -> None:
    variables = [Variable("employment", "e", "categorical", {"freelance": "Freelance"})]
    with pytest.raises(ExportError, match="employment: code 'retired' has no value label"):
        written(fmt, tmp_path, [["freelance"], ["retired"]], variables)


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_unlabelled_integer_code_keeps_its_value(fmt: str, tmp_path: Path) -> None:
    variables = [Variable("agree", "a", "categorical", {"1": "No", "2": "Yes"})]
    _, frame, meta = written(fmt, tmp_path, [["1"], [7], ["2"]], variables)
    assert _as_list(frame["agree"]) == [1, 7, 2]
    assert meta.variable_value_labels["agree"] == {1: "No", 2: "Yes"}


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_empty_export_still_has_every_variable(fmt: str, tmp_path: Path) -> None:
    count, frame, _ = written(fmt, tmp_path, [])
    assert count == 0
    assert len(frame) == 0
    assert len(frame.columns) == len(VARIABLES)


def test_empty_csv_and_xlsx_have_the_header(tmp_path: Path) -> None:
    assert csv_bytes([], labels=False).decode() == ",".join(NAMES) + "\r\n"
    assert write_xlsx([], VARIABLES, tmp_path / "e.xlsx", labels=False) == 0
    assert list(pd.read_excel(tmp_path / "e.xlsx", engine="openpyxl").columns) == NAMES


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_labelled_points_of_a_numeric_scale_and_iso_datetimes(fmt: str, tmp_path: Path) -> None:
    variables = [
        Variable("slider", "How exposed?", "numeric", {"0": "Not at all", "10": "Completely"}),
        Variable("at", "When", "datetime"),
    ]
    rows = [[0, "2025-03-01T13:30:15+01:00"], [7.5, dt.date(2025, 1, 2)], [10, ""]]
    _, frame, meta = written(fmt, tmp_path, rows, variables)
    assert _as_list(frame["slider"]) == [0, 7.5, 10]
    assert meta.variable_value_labels["slider"] == {0: "Not at all", 10: "Completely"}
    assert frame["at"].tolist()[:2] == [
        pd.Timestamp("2025-03-01 12:30:15"),
        pd.Timestamp("2025-01-02"),
    ]
    assert pd.isna(frame["at"][2])
    labelled_csv = csv_frame(csv_bytes(rows, variables, labels=True))
    assert labelled_csv["slider"].tolist() == [0, 7.5, 10]
    assert labelled_csv["at"].tolist()[:2] == ["2025-03-01T12:30:15", "2025-01-02"]


# --- names and codes -----------------------------------------------------------------------------


def test_code_mapping_follows_the_value_label_order() -> None:
    layouts = {layout.variable.name: layout for layout in variable_layouts(VARIABLES)}
    assert layouts["occupation"].code_scheme == "integer"
    assert dict(layouts["occupation"].numeric_codes) == {"2655": 2655, "2166": 2166}
    assert layouts["employment"].code_scheme == "enumerated"
    assert dict(layouts["employment"].numeric_codes) == {"freelance": 1, "employed": 2, "both": 3}
    # Codes that collide as integers ("1" and "01") cannot be used as-is.
    clash = Variable("c", "c", "categorical", {"1": "a", "01": "b"})
    assert dict(variable_layouts([clash])[0].numeric_codes) == {"1": 1, "01": 2}


def test_renaming_is_deterministic_and_documented() -> None:
    names = [
        "in",
        "with",
        "_n",
        "2655",
        "问题",
        "Q1",
        "q1",
        "über café",
        LONG_NAME,
        LONG_NAME + "_b",
    ]
    stata = stata_names(names)
    assert stata == stata_names(names)
    assert stata[:8] == ["v_in", "v_with", "v_n", "v_2655", stata[4], "Q1", "q1_2", "uber_cafe"]
    assert re.fullmatch(r"v_[0-9a-f]{4}", stata[4])
    assert stata[8] != stata[9]
    assert spss_names(names)[:2] == ["in", "v_with"]
    entries = codebook_dict(Codebook(VARIABLES))["variables"]
    assert entries[10]["names"] == {"sav": "in", "dta": "v_in"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=100), min_size=1, max_size=12, unique=True))
def test_renamed_names_are_always_valid_and_unique(names: list[str]) -> None:
    # Labelled Stata variables leave room for pyreadstat's label-set number (name + "0", "1"...).
    for index, name in enumerate(stata_names(names, [True] * len(names))):
        assert len(name + str(index)) <= 32
    for renamed, max_len, reserved in (
        (stata_names(names), 32, STATA_RESERVED),
        (spss_names(names), 64, SPSS_RESERVED),
    ):
        assert len(renamed) == len(names)
        assert len({name.lower() for name in renamed}) == len(renamed)
        for name in renamed:
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name)
            assert len(name.encode()) <= max_len
            assert name not in reserved and name.upper() not in reserved
            assert not re.fullmatch(r"str[0-9]+", name) or max_len == 64


def test_variables_are_validated() -> None:
    with pytest.raises(ExportError, match="unknown kind"):
        Variable("x", "x", "likert")  # type: ignore[arg-type]
    with pytest.raises(ExportError, match="definitions for codes without a label"):
        Variable("x", "x", "categorical", {"a": "A"}, value_definitions={"b": "B"})
    with pytest.raises(ExportError, match="duplicate variable name 'x'"):
        Codebook([Variable("x", "x", "text"), Variable("x", "y", "text")])


# --- codebook ------------------------------------------------------------------------------------

HOSTILE = Variable(
    "q_<b>",
    '<script>alert("x")</script> & | pipes',
    "categorical",
    {"a": "<img src=x onerror=alert(1)>", "b": "=cmd|' /C calc'!A0"},
    description="Line one\nline two",
    value_definitions={"a": "</td><td>"},
)
CODEBOOK = Codebook(
    [*VARIABLES, HOSTILE],
    title="Exposure <codebook>",
    language="zh-Hans",
    notes=["Wave 1"],
    metadata={"survey_version": "3"},
)


def render_both(fmt: str) -> str:
    text_out = io.StringIO()
    binary_out = io.BytesIO()
    write_codebook(CODEBOOK, text_out, format=fmt)  # type: ignore[arg-type]
    write_codebook(CODEBOOK, binary_out, format=fmt)  # type: ignore[arg-type]
    assert binary_out.getvalue().decode("utf-8") == text_out.getvalue()
    return text_out.getvalue()


def test_codebook_json() -> None:
    data = json.loads(render_both("json"))
    assert data["title"] == "Exposure <codebook>"
    assert data["notes"] == ["Wave 1"]
    assert data["format_notes"]
    by_name = {entry["name"]: entry for entry in data["variables"]}
    risk = by_name["cls_displacement_risk"]
    assert risk["value_labels"] == [
        {
            "code": "high",
            "numeric_code": 1,
            "label": "High risk",
            "definition": RISK_DEFINITIONS["high"],
        },
        {
            "code": "low",
            "numeric_code": 2,
            "label": "Low risk",
            "definition": RISK_DEFINITIONS["low"],
        },
    ]
    assert by_name["comment"]["label"] == "你对生成式视频有什么看法？"
    assert by_name["tool_sora"]["value_labels"][1] == {
        "code": "1",
        "numeric_code": 1,
        "label": "selected",
        "definition": "",
    }
    assert by_name[LONG_NAME]["labels"]["sav"] == LONG_LABEL


def test_codebook_csv_is_a_long_table_and_formula_safe() -> None:
    text = render_both("csv")
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    variables = table[table["code"] == ""]
    assert variables["name"].tolist() == [*NAMES, "q_<b>"]
    occupation = table[(table["name"] == "occupation") & (table["code"] != "")]
    assert occupation[["code", "numeric_code", "value_label"]].values.tolist() == [
        ["2655", "2655", "Actors"],
        ["2166", "2166", "Graphic designers"],
    ]
    hostile = table[(table["name"] == "q_<b>") & (table["code"] == "b")]
    assert hostile["value_label"].tolist() == ["'=cmd|' /C calc'!A0"]
    assert all(not cell.startswith(FORMULA_TRIGGERS) for cell in table.to_numpy().ravel())
    assert next(csv.reader(io.StringIO(text)))[0] == "name"


class _TextCollector(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_codebook_html_escapes_everything() -> None:
    page = render_both("html")
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    parser = _TextCollector()
    parser.feed(page)
    assert "script" not in parser.tags and "img" not in parser.tags and "b" not in parser.tags
    text = "".join(parser.text)
    assert '<script>alert("x")</script> & | pipes' in text
    assert "<img src=x onerror=alert(1)>" in text
    assert "</td><td>" in text
    assert RISK_DEFINITIONS["high"] in text
    assert "你对生成式视频有什么看法？" in text
    assert '<html lang="zh-Hans">' in page


def test_codebook_markdown_tables_are_not_broken_by_labels() -> None:
    md = render_both("md")
    assert md.startswith("# Exposure &lt;codebook&gt;\n")
    assert "<script>" not in md
    assert "\\| pipes" in md
    row = next(line for line in md.splitlines() if line.startswith("| q\\_&lt;b&gt; |"))
    assert row.count(" | ") == 5  # six cells, escaped pipes do not split them
    assert "Line one<br>line two" in md
    assert RISK_DEFINITIONS["low"] in md


def test_render_codebook_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown codebook format"):
        render_codebook(CODEBOOK, format="pdf")  # type: ignore[arg-type]


@pytest.mark.slow
def test_export_library_imports_no_django() -> None:
    code = (
        "import sys, surveys.exports.formats; "
        "roots = {'django', 'rest_framework', 'celery', 'classifier'}; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in roots); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sav_declares_four_missing_codes_as_a_range_and_one_value(tmp_path: Path) -> None:
    # 1-5 valid; -99 not shown, -98 not answered, -97 refused and 9 don't know: SPSS takes one
    # range plus one discrete value, so the three negative codes form the range.
    labels = {str(n): f"point {n}" for n in range(1, 6)}
    labels |= {"-99": "not shown", "-98": "not answered", "-97": "refused", "9": "don't know"}
    variable = Variable(
        name="scale",
        label="Scale",
        kind="categorical",
        value_labels=labels,
        missing_codes=frozenset({"-99", "-98", "-97", "9"}),
    )
    path = tmp_path / "four.sav"
    write_sav([["1"], ["-99"], ["-98"], ["9"], ["5"]], [variable], path)
    frame, _meta = pyreadstat.read_sav(str(path))
    _raw, declared = pyreadstat.read_sav(str(path), user_missing=True)
    ranges = declared.missing_ranges["scale"]
    assert {"lo": -99.0, "hi": -97.0} in ranges and {"lo": 9.0, "hi": 9.0} in ranges
    assert frame["scale"].tolist()[0] == 1 and frame["scale"].tolist()[4] == 5
    assert frame["scale"].isna().tolist() == [False, True, True, True, False]
