"""SPSS (.sav) and Stata (.dta) export through pyreadstat.

pyreadstat writes from a whole DataFrame, so every row is held in memory once. To keep that
small, rows are consumed one at a time into one compact array per column (int32 codes, int8
flags, float64 numbers, int64 microseconds for datetimes; text as Python strings, which cannot be
avoided), and the DataFrame is assembled column by column from those arrays with the smallest
integer type that fits.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from array import array
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyreadstat

from .cells import to_datetime, to_flag, to_number
from .layout import (
    SPSS_FILE_LABEL_MAX_BYTES,
    SPSS_STRING_MAX_BYTES,
    STATA_FILE_LABEL_MAX_CHARS,
    STATA_STRL_MAX_BYTES,
    VariableLayout,
    code_key,
    to_numeric_code,
    variable_layouts,
)
from .safety import truncate_chars, truncate_utf8
from .schema import Codebook, ExportError, Variable, WriteReport

StatFormat = Literal["sav", "dta"]

# Stata 14+ "format 118": UTF-8, strL, readable by Stata 14 to 18. pyreadstat's default (15)
# writes format 119, which Stata 14 cannot open and which only matters past 32,767 variables.
DTA_VERSION = 14
STATA_MAX_VARIABLES = 32_767
SPSS_NOTE_LINE_MAX_BYTES = 80

_INT32_MISSING = -(2**31)
_INT64_MISSING = -(2**63)
# Naive, as the datetimes written are: 1970-01-01 00:00 with no zone.
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC).replace(tzinfo=None)
_MICROSECOND = dt.timedelta(microseconds=1)


class _Column:
    def __init__(self, layout: VariableLayout) -> None:
        self.layout = layout
        self.variable = layout.variable

    def append(self, value: Any) -> None:
        raise NotImplementedError

    def to_array(self) -> Any:
        raise NotImplementedError


def _smallest_int(values: np.ndarray) -> np.dtype[Any]:
    if values.size == 0:
        return np.dtype("int8")
    low, high = int(values.min()), int(values.max())
    for dtype in ("int8", "int16", "int32"):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return np.dtype(dtype)
    return np.dtype("int64")


def _compact_ints(raw: np.ndarray, sentinel: int) -> Any:
    mask = raw == sentinel
    if not mask.any():
        return raw.astype(_smallest_int(raw))
    dtype = _smallest_int(raw[~mask])
    return pd.arrays.IntegerArray(np.where(mask, 0, raw).astype(dtype), mask)


class _CodeColumn(_Column):
    def __init__(self, layout: VariableLayout, letters: dict[int, str] | None = None) -> None:
        super().__init__(layout)
        self.values = array("i")
        self.cache: dict[str, int] = {}
        # Stata: the numeric codes written as extended missing values (.a, .b, ...) instead.
        self.letters = letters or {}

    def append(self, value: Any) -> None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            self.values.append(_INT32_MISSING)
            return
        code = code_key(value, self.variable)
        number = self.cache.get(code)
        if number is None:
            number = self.cache[code] = to_numeric_code(code, self.layout)
        self.values.append(number)

    def to_array(self) -> Any:
        raw = np.frombuffer(self.values, dtype=np.int32)
        if not self.letters or not np.isin(raw, list(self.letters)).any():
            return _compact_ints(raw, _INT32_MISSING)
        # pyreadstat writes a letter in a numeric column as that extended missing value.
        cells = raw.astype(object)
        cells[raw == _INT32_MISSING] = np.nan
        for number, letter in self.letters.items():
            cells[raw == number] = letter
        return cells


def _with_letters(values: np.ndarray, letters: dict[int, str], missing: Any) -> Any:
    """An object column with Stata's extended missing letters where `letters` codes stand."""
    cells = values.astype(object)
    cells[values == missing] = np.nan
    for number, letter in letters.items():
        cells[values == number] = letter
    return cells


class _FlagColumn(_Column):
    def __init__(self, layout: VariableLayout, letters: dict[int, str] | None = None) -> None:
        super().__init__(layout)
        self.values = array("b")
        self.reasons = {code: int(code) for code in self.variable.missing_codes}
        self.letters = letters or {}

    def append(self, value: Any) -> None:
        reason = self.reasons.get(value) if value.__class__ is str else None
        if reason is not None:
            self.values.append(reason)
            return
        flag = to_flag(value, self.variable)
        self.values.append(-1 if flag is None else flag)

    def to_array(self) -> Any:
        raw = np.frombuffer(self.values, dtype=np.int8)
        if self.letters and np.isin(raw, list(self.letters)).any():
            return _with_letters(raw, self.letters, -1)
        return _compact_ints(raw, -1)


class _NumberColumn(_Column):
    def __init__(self, layout: VariableLayout, letters: dict[int, str] | None = None) -> None:
        super().__init__(layout)
        self.values = array("d")
        self.letters = letters or {}

    def append(self, value: Any) -> None:
        number = to_number(value, self.variable)
        self.values.append(math.nan if number is None else float(number))

    def to_array(self) -> Any:
        raw = np.frombuffer(self.values, dtype=np.float64)
        if self.letters and np.isin(raw, list(self.letters)).any():
            return _with_letters(raw, self.letters, math.nan)
        return raw


class _DatetimeColumn(_Column):
    def __init__(self, layout: VariableLayout) -> None:
        super().__init__(layout)
        self.values = array("q")

    def append(self, value: Any) -> None:
        moment = to_datetime(value, self.variable)
        if moment is None:
            self.values.append(_INT64_MISSING)
            return
        if not isinstance(moment, dt.datetime):
            moment = dt.datetime.combine(moment, dt.time())
        self.values.append((moment - _EPOCH) // _MICROSECOND)

    def to_array(self) -> Any:
        # int64 minimum is numpy's NaT, so missing values need no second pass.
        return np.frombuffer(self.values, dtype=np.int64).view("datetime64[us]")


class _TextColumn(_Column):
    def __init__(self, layout: VariableLayout, max_bytes: int, report: WriteReport) -> None:
        super().__init__(layout)
        self.values: list[str] = []
        self.max_bytes = max_bytes
        self.report = report

    def append(self, value: Any) -> None:
        if value is None:
            self.values.append("")  # a string's system-missing value is the empty string
            return
        text = value if isinstance(value, str) else str(value)
        # NUL ends a fixed-width string in both formats; nothing after it would survive.
        text = text.replace("\x00", "")
        # Cheap test first: a string of n characters holds at most 4n bytes of UTF-8.
        if len(text) * 4 > self.max_bytes:
            text, cut = truncate_utf8(text, self.max_bytes)
            if cut:
                self.report.count_truncation(self.variable.name)
        self.values.append(text)

    def to_array(self) -> Any:
        return pd.array(self.values, dtype=object)


def _column_for(layout: VariableLayout, fmt: StatFormat, report: WriteReport) -> _Column:
    kind = layout.variable.kind
    if kind == "categorical":
        return _CodeColumn(layout, layout.dta_missing if fmt == "dta" else None)
    letters = layout.dta_missing if fmt == "dta" else None
    if kind == "multi_flag":
        return _FlagColumn(layout, letters)
    if kind == "numeric":
        return _NumberColumn(layout, letters)
    if kind == "datetime":
        return _DatetimeColumn(layout)
    limit = SPSS_STRING_MAX_BYTES if fmt == "sav" else STATA_STRL_MAX_BYTES
    return _TextColumn(layout, limit, report)


def _collect(
    rows: Iterable[Sequence[Any]],
    layouts: Sequence[VariableLayout],
    fmt: StatFormat,
    report: WriteReport,
) -> pd.DataFrame:
    columns = [_column_for(layout, fmt, report) for layout in layouts]
    width = len(columns)
    appenders = [column.append for column in columns]
    for index, row in enumerate(rows):
        if len(row) != width:
            raise ExportError(f"row {index}: {len(row)} values for {width} variables")
        for append, value in zip(appenders, row, strict=True):
            append(value)
        report.rows += 1
    names = [layout.sav_name if fmt == "sav" else layout.dta_name for layout in layouts]
    data: dict[str, Any] = {}
    for name, column in zip(names, columns, strict=True):
        data[name] = column.to_array()
        # Drop the row-wise buffer as soon as its column exists: peak memory stays ~1 copy.
        column.values = None  # type: ignore[attr-defined]
    return pd.DataFrame(data, copy=False)


def _note_lines(notes: Iterable[str]) -> list[str]:
    """Notes wrapped into SPSS document lines of at most 80 bytes."""
    lines: list[str] = []
    for note in notes:
        current = ""
        for word in note.split():
            while len(word.encode("utf-8")) > SPSS_NOTE_LINE_MAX_BYTES:
                head, _ = truncate_utf8(word, SPSS_NOTE_LINE_MAX_BYTES, "")
                if current:
                    lines.append(current)
                    current = ""
                lines.append(head)
                word = word[len(head) :]
            candidate = f"{current} {word}" if current else word
            if len(candidate.encode("utf-8")) > SPSS_NOTE_LINE_MAX_BYTES:
                lines.append(current)
                candidate = word
            current = candidate
        if current:
            lines.append(current)
    return lines


def _prepare(
    rows: Iterable[Sequence[Any]],
    variables: Sequence[Variable],
    codebook: Codebook | None,
    fmt: StatFormat,
    report: WriteReport | None,
) -> tuple[list[VariableLayout], pd.DataFrame, Codebook, WriteReport]:
    report = report if report is not None else WriteReport()
    report.format = report.format or fmt.upper()
    codebook = codebook if codebook is not None else Codebook(variables=variables)
    layouts = variable_layouts(variables)
    frame = _collect(rows, layouts, fmt, report)
    return layouts, frame, codebook, report


def write_sav(
    rows: Iterable[Sequence[Any]],
    variables: Sequence[Variable],
    path: str | os.PathLike[str],
    *,
    codebook: Codebook | None = None,
    report: WriteReport | None = None,
) -> int:
    """Write an SPSS .sav file (UTF-8, bytecode-compressed) with variable and value labels."""
    layouts, frame, codebook, report = _prepare(rows, variables, codebook, "sav", report)
    notes = [*codebook.notes, *report.notes(codebook.texts)]
    pyreadstat.write_sav(
        frame,
        os.fspath(path),
        file_label=truncate_utf8(codebook.title, SPSS_FILE_LABEL_MAX_BYTES, "")[0],
        column_labels=[layout.sav_label for layout in layouts],
        note=_note_lines(notes) or None,
        variable_value_labels={
            layout.sav_name: layout.sav_value_labels
            for layout in layouts
            if layout.numeric_value_labels
        },
        variable_measure={layout.sav_name: layout.variable.effective_measure for layout in layouts},
        missing_ranges={
            layout.sav_name: layout.sav_missing for layout in layouts if layout.sav_missing
        }
        or None,
        row_compress=True,
    )
    return report.rows


def write_dta(
    rows: Iterable[Sequence[Any]],
    variables: Sequence[Variable],
    path: str | os.PathLike[str],
    *,
    codebook: Codebook | None = None,
    report: WriteReport | None = None,
) -> int:
    """Write a Stata .dta file (format 118, UTF-8) with variable and value labels."""
    if len(variables) > STATA_MAX_VARIABLES:
        raise ExportError(f"{len(variables)} variables exceed Stata's {STATA_MAX_VARIABLES}")
    layouts, frame, codebook, report = _prepare(rows, variables, codebook, "dta", report)
    pyreadstat.write_dta(
        frame,
        os.fspath(path),
        file_label=truncate_chars(codebook.title, STATA_FILE_LABEL_MAX_CHARS, "")[0],
        column_labels=[layout.dta_label for layout in layouts],
        version=DTA_VERSION,
        # pyreadstat's annotation omits the letters (.a, .b, ...) of Stata's extended missing
        # values, which it takes as value-label keys all the same.
        variable_value_labels={
            layout.dta_name: layout.dta_value_labels  # type: ignore[misc]
            for layout in layouts
            if layout.numeric_value_labels
        },
        missing_user_values={
            layout.dta_name: list(layout.dta_missing.values())
            for layout in layouts
            if layout.dta_missing
        }
        or None,
    )
    return report.rows
