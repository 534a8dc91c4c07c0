"""SPSS (.sav) and Stata (.dta) export, written chunk by chunk in flat memory.

Both formats declare, before the first row, things only the whole data tells: the number of
rows, each string's width, and (Stata) the integer type each column needs. So the rows are read
twice, the second time from disk: the first pass turns every value into its cell (codes,
flags, numbers, datetimes as numbers; text as UTF-8 bytes, truncated where the format requires)
and spools them, `CHUNK_ROWS` rows at a time as one compact array per column, into a scratch file
beside the output while it notes the widths and ranges; the second pass writes the file from the
spool with the format writers in `sav.py` and `dta.py`. Memory holds one chunk, whatever the
number of rows.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import pickle
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from .cells import to_datetime, to_flag, to_number
from .dta import DOUBLE, MS_1960_TO_1970, STR_MAX, STRL, DtaColumn, DtaWriter, integer_type
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
from .sav import SECONDS_1582_TO_1970, SavColumn, SavWriter
from .schema import Codebook, ExportError, Variable, WriteReport

StatFormat = Literal["sav", "dta"]

# Stata 14+ "format 118" (see dta.py): UTF-8, strL, readable by Stata 14 to 18.
STATA_MAX_VARIABLES = 32_767
SPSS_NOTE_LINE_MAX_BYTES = 80
# Rows per spooled chunk: the rows of one chunk are held at once, as the reader gave them.
CHUNK_ROWS = 4096

_INT64_MISSING = -(2**63)
# Naive, as the datetimes written are: 1970-01-01 00:00 with no zone.
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC).replace(tzinfo=None)
_MICROSECOND = dt.timedelta(microseconds=1)
_SAV_EPOCH_SECONDS = float(SECONDS_1582_TO_1970)  # SPSS counts from 1582-10-14
_DTA_EPOCH_MS = float(MS_1960_TO_1970)  # Stata's %tc counts milliseconds from 1960-01-01


_MISS: Any = object()  # not in a column's cache


class _Column:
    """One column of the first pass: a chunk's raw values in, one compact array (or list) out."""

    def __init__(self, layout: VariableLayout) -> None:
        self.layout = layout
        self.variable = layout.variable

    def convert(self, values: Sequence[Any]) -> Any:
        raise NotImplementedError


def _patch(cells: list[Any], values: Sequence[Any], slow: Any) -> list[Any]:
    """Cells the fast path left as _MISS, computed one by one by `slow`."""
    for i, cell in enumerate(cells):
        if cell is _MISS:
            cells[i] = slow(values[i])
    return cells


class _CodeColumn(_Column):
    """Categories as their numeric codes, float64 with NaN for missing."""

    def __init__(self, layout: VariableLayout) -> None:
        super().__init__(layout)
        # Raw string code -> number: most values are one of a few codes.
        self.cache: dict[str, float] = {}

    def one(self, value: Any) -> float:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return math.nan
        code = code_key(value, self.variable)
        number = float(to_numeric_code(code, self.layout))
        if value.__class__ is str:
            self.cache[value] = number
        return number

    def convert(self, values: Sequence[Any]) -> Any:
        get, nan, miss = self.cache.get, math.nan, _MISS
        cells = [nan if v is None else get(v, miss) if v.__class__ is str else miss for v in values]
        return np.array(_patch(cells, values, self.one), dtype=np.float64)


class _FlagColumn(_CodeColumn):
    """0/1 flags (and the integer codes of why one is empty), float64 with NaN for missing."""

    def __init__(self, layout: VariableLayout) -> None:
        super().__init__(layout)
        self.reasons = {code: float(code) for code in self.variable.missing_codes}

    def one(self, value: Any) -> float:
        reason = self.reasons.get(value) if value.__class__ is str else None
        if reason is not None:
            return reason
        flag = to_flag(value, self.variable)
        return math.nan if flag is None else float(flag)

    def convert(self, values: Sequence[Any]) -> Any:
        nan, miss = math.nan, _MISS
        # The common cases, None and the ints 0 and 1 (not bools: their class is bool).
        cells = [
            nan if v is None else float(v) if v.__class__ is int and 0 <= v <= 1 else miss
            for v in values
        ]
        return np.array(_patch(cells, values, self.one), dtype=np.float64)


class _NumberColumn(_CodeColumn):
    """Numbers as float64, NaN for missing."""

    def one(self, value: Any) -> float:
        number = to_number(value, self.variable)
        return math.nan if number is None else float(number)

    def convert(self, values: Sequence[Any]) -> Any:
        nan, miss = math.nan, _MISS
        cells = [nan if v is None else v if v.__class__ is float else miss for v in values]
        return np.array(_patch(cells, values, self.one), dtype=np.float64)


class _DatetimeColumn(_Column):
    """Datetimes as int64 microseconds since 1970 (naive UTC); the int64 minimum is missing."""

    def one(self, value: Any) -> int:
        moment = to_datetime(value, self.variable)
        if moment is None:
            return _INT64_MISSING
        if not isinstance(moment, dt.datetime):
            moment = dt.datetime.combine(moment, dt.time())
        return (moment - _EPOCH) // _MICROSECOND

    def convert(self, values: Sequence[Any]) -> Any:
        return np.array([self.one(v) for v in values], dtype=np.int64)


class _TextColumn(_Column):
    """Text as UTF-8 bytes, cut to the format's limit; the longest value is remembered."""

    def __init__(self, layout: VariableLayout, max_bytes: int, report: WriteReport) -> None:
        super().__init__(layout)
        self.max_bytes = max_bytes
        self.report = report
        self.width = 0  # the longest value so far, in bytes

    def one(self, value: Any) -> bytes:
        if value is None:
            return b""  # a string's system-missing value is the empty string
        text = value if isinstance(value, str) else str(value)
        # NUL ends a fixed-width string in both formats; nothing after it would survive.
        if "\x00" in text:
            text = text.replace("\x00", "")
        # Cheap test first: a string of n characters holds at most 4n bytes of UTF-8.
        if len(text) * 4 > self.max_bytes:
            text, cut = truncate_utf8(text, self.max_bytes)
            if cut:
                self.report.count_truncation(self.variable.name)
        # "replace" only matters for lone surrogates, which UTF-8 cannot carry at all.
        return text.encode("utf-8", "replace")

    def convert(self, values: Sequence[Any]) -> Any:
        cells = [self.one(v) for v in values]
        if cells:
            self.width = max(self.width, max(map(len, cells)))
        return cells


def _column_for(layout: VariableLayout, fmt: StatFormat, report: WriteReport) -> _Column:
    kind = layout.variable.kind
    if kind == "categorical":
        return _CodeColumn(layout)
    if kind == "multi_flag":
        return _FlagColumn(layout)
    if kind == "numeric":
        return _NumberColumn(layout)
    if kind == "datetime":
        return _DatetimeColumn(layout)
    limit = SPSS_STRING_MAX_BYTES if fmt == "sav" else STATA_STRL_MAX_BYTES
    return _TextColumn(layout, limit, report)


@dataclass
class _Spool:
    """The first pass's result: cells spooled to `file`, and what the headers need to know."""

    file: IO[bytes]
    rows: int = 0
    widths: list[int] = field(default_factory=list)  # text columns: longest value in bytes
    ranges: list[tuple[float, float] | None] = field(default_factory=list)  # valid codes

    def chunks(self) -> Iterator[tuple[int, list[Any]]]:
        self.file.seek(0)
        while True:
            try:
                yield pickle.load(self.file)  # noqa: S301  # nosec B301 - our own scratch file
            except EOFError:
                return


def _widen(
    current: tuple[float, float] | None, chunk: np.ndarray, skip: Sequence[int]
) -> tuple[float, float] | None:
    """The range of valid codes so far, widened by a chunk's (missing and `skip` codes aside)."""
    valid = chunk[~np.isnan(chunk)]
    if skip:
        valid = valid[~np.isin(valid, skip)]
    if valid.size == 0:
        return current
    low, high = float(valid.min()), float(valid.max())
    if current is None:
        return low, high
    return min(low, current[0]), max(high, current[1])


def _spool(
    rows: Iterable[Sequence[Any]],
    layouts: Sequence[VariableLayout],
    fmt: StatFormat,
    report: WriteReport,
    scratch: IO[bytes],
) -> _Spool:
    columns = [_column_for(layout, fmt, report) for layout in layouts]
    spool = _Spool(scratch, ranges=[None] * len(columns))
    width = len(columns)
    # Stata: codes written as extended missing values take no part in the integer range.
    letters = [list(layout.dta_missing) if fmt == "dta" else [] for layout in layouts]
    ranged = [
        i
        for i, layout in enumerate(layouts)
        if layout.variable.kind in {"categorical", "multi_flag"}
    ]
    batch: list[Sequence[Any]] = []

    def flush() -> None:
        by_column = list(zip(*batch, strict=True)) if batch else [()] * width
        chunk = [column.convert(values) for column, values in zip(columns, by_column, strict=True)]
        for i in ranged:
            spool.ranges[i] = _widen(spool.ranges[i], chunk[i], letters[i])
        pickle.dump((len(batch), chunk), scratch, protocol=pickle.HIGHEST_PROTOCOL)
        report.rows += len(batch)
        batch.clear()

    for index, row in enumerate(rows):
        if len(row) != width:
            raise ExportError(f"row {index}: {len(row)} values for {width} variables")
        batch.append(row)
        if len(batch) == CHUNK_ROWS:
            flush()
    if batch:
        flush()
    spool.rows = report.rows
    spool.widths = [c.width if isinstance(c, _TextColumn) else 0 for c in columns]
    return spool


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


def _start(
    variables: Sequence[Variable],
    codebook: Codebook | None,
    fmt: StatFormat,
    report: WriteReport | None,
) -> tuple[list[VariableLayout], Codebook, WriteReport]:
    report = report if report is not None else WriteReport()
    report.format = report.format or fmt.upper()
    codebook = codebook if codebook is not None else Codebook(variables=variables)
    return variable_layouts(variables), codebook, report


def _scratch(path: str | os.PathLike[str]) -> IO[bytes]:
    """An unnamed scratch file beside the output (same disk, removed when closed)."""
    return tempfile.TemporaryFile(dir=Path(path).parent, prefix=".spool-")


def _sav_columns(layouts: Sequence[VariableLayout], spool: _Spool) -> list[SavColumn]:
    columns = []
    for layout, width in zip(layouts, spool.widths, strict=True):
        variable = layout.variable
        text = variable.kind == "text"
        columns.append(
            SavColumn(
                name=layout.sav_name,
                label=layout.sav_label,
                width=max(width, 1) if text else 0,
                measure=variable.effective_measure,
                decimals=2 if variable.kind == "numeric" else 0,
                datetime=variable.kind == "datetime",
                value_labels=layout.sav_value_labels if layout.numeric_value_labels else {},
                missing=layout.sav_missing,
            )
        )
    return columns


def write_sav(
    rows: Iterable[Sequence[Any]],
    variables: Sequence[Variable],
    path: str | os.PathLike[str],
    *,
    codebook: Codebook | None = None,
    report: WriteReport | None = None,
) -> int:
    """Write an SPSS .sav file (UTF-8, bytecode-compressed) with variable and value labels."""
    layouts, codebook, report = _start(variables, codebook, "sav", report)
    with _scratch(path) as scratch:
        spool = _spool(rows, layouts, "sav", report, scratch)
        columns = _sav_columns(layouts, spool)
        notes = [*codebook.notes, *report.notes(codebook.texts)]
        datetimes = [i for i, c in enumerate(columns) if c.datetime]
        with open(path, "wb") as out:
            writer = SavWriter(
                out,
                columns,
                cases=spool.rows,
                file_label=truncate_utf8(codebook.title, SPSS_FILE_LABEL_MAX_BYTES, "")[0],
                notes=_note_lines(notes),
            )
            writer.dictionary()
            for count, chunk in spool.chunks():
                for i in datetimes:
                    chunk[i] = _seconds(chunk[i], 1e6, _SAV_EPOCH_SECONDS)
                writer.cases_chunk(chunk, count)
            writer.close()
    return report.rows


def _seconds(micros: np.ndarray, per_unit: float, offset: float) -> np.ndarray:
    """Microseconds since 1970 as units (seconds, milliseconds) since the format's epoch."""
    out = micros.astype(np.float64) / per_unit + offset
    out[micros == _INT64_MISSING] = np.nan
    return out


def _dta_columns(layouts: Sequence[VariableLayout], spool: _Spool) -> list[DtaColumn]:
    columns = []
    label_sets = 0
    for layout, width, span in zip(layouts, spool.widths, spool.ranges, strict=True):
        variable = layout.variable
        kind = variable.kind
        letters = layout.dta_missing if kind in {"categorical", "multi_flag", "numeric"} else {}
        if kind == "text":
            code = max(width, 1) if width <= STR_MAX else STRL
            fmt = "%-9s"  # as Stata shows a string by default
        elif kind == "datetime":
            code, fmt = DOUBLE, "%tc"
        elif kind == "numeric":
            code, fmt = DOUBLE, "%10.0g"
        else:
            low, high = span if span is not None else (0.0, 0.0)
            code = integer_type(int(low), int(high))
            fmt = "%12.0g" if code != DOUBLE else "%10.0g"
        label_set = ""
        if layout.numeric_value_labels:
            # Named as before: the variable's name and the running number of its set.
            label_set = f"{layout.dta_name}{label_sets}"
            label_sets += 1
        columns.append(
            DtaColumn(
                name=layout.dta_name,
                label=layout.dta_label,
                type=code,
                format=fmt,
                letters=letters,
                value_labels=layout.dta_value_labels if label_set else {},
                label_set=label_set,
            )
        )
    return columns


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
    layouts, codebook, report = _start(variables, codebook, "dta", report)
    with _scratch(path) as scratch, _scratch(path) as strls:
        spool = _spool(rows, layouts, "dta", report, scratch)
        columns = _dta_columns(layouts, spool)
        datetimes = [i for i, layout in enumerate(layouts) if layout.variable.kind == "datetime"]
        with open(path, "wb") as out:
            writer = DtaWriter(
                out,
                columns,
                observations=spool.rows,
                data_label=truncate_chars(codebook.title, STATA_FILE_LABEL_MAX_CHARS, "")[0],
                strls=strls,
            )
            writer.start()
            for count, chunk in spool.chunks():
                for i in datetimes:
                    chunk[i] = _seconds(chunk[i], 1e3, _DTA_EPOCH_MS)
                writer.data_chunk(chunk, count)
            writer.close()
    return report.rows
