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
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from .cells import to_datetime, to_flag, to_number
from .dta import DOUBLE, STR_MAX, STRL, DtaColumn, DtaWriter, integer_type
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
from .sav import SavColumn, SavWriter
from .schema import Codebook, ExportError, Variable, WriteReport

StatFormat = Literal["sav", "dta"]

# Stata 14+ "format 118": UTF-8, strL, readable by Stata 14 to 18.
DTA_VERSION = 14
STATA_MAX_VARIABLES = 32_767
SPSS_NOTE_LINE_MAX_BYTES = 80
# Rows per spooled chunk: about a megabyte per ten columns of numbers.
CHUNK_ROWS = 16_384

_INT32_MISSING = -(2**31)
_INT64_MISSING = -(2**63)
# Naive, as the datetimes written are: 1970-01-01 00:00 with no zone.
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC).replace(tzinfo=None)
_MICROSECOND = dt.timedelta(microseconds=1)
_SAV_EPOCH_SECONDS = 12_219_379_200.0  # 1582-10-14 to 1970-01-01
_DTA_EPOCH_MS = 315_619_200_000.0  # 1960-01-01 to 1970-01-01


class _Column:
    """One column of the first pass: values appended one by one, taken a chunk at a time."""

    def __init__(self, layout: VariableLayout) -> None:
        self.layout = layout
        self.variable = layout.variable

    def append(self, value: Any) -> None:
        raise NotImplementedError

    def take(self) -> Any:
        """The chunk so far as one array (or list of bytes); the column starts a new chunk."""
        raise NotImplementedError


class _CodeColumn(_Column):
    def __init__(self, layout: VariableLayout) -> None:
        super().__init__(layout)
        self.values = array("d")
        self.cache: dict[str, int] = {}

    def append(self, value: Any) -> None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            self.values.append(math.nan)
            return
        code = code_key(value, self.variable)
        number = self.cache.get(code)
        if number is None:
            number = self.cache[code] = to_numeric_code(code, self.layout)
        self.values.append(number)

    def take(self) -> Any:
        chunk = np.frombuffer(self.values, dtype=np.float64).copy()
        self.values = array("d")
        return chunk


class _FlagColumn(_CodeColumn):
    def __init__(self, layout: VariableLayout) -> None:
        super().__init__(layout)
        self.reasons = {code: int(code) for code in self.variable.missing_codes}

    def append(self, value: Any) -> None:
        reason = self.reasons.get(value) if value.__class__ is str else None
        if reason is not None:
            self.values.append(reason)
            return
        flag = to_flag(value, self.variable)
        self.values.append(math.nan if flag is None else flag)


class _NumberColumn(_CodeColumn):
    def append(self, value: Any) -> None:
        number = to_number(value, self.variable)
        self.values.append(math.nan if number is None else float(number))


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

    def take(self) -> Any:
        chunk = np.frombuffer(self.values, dtype=np.int64).copy()
        self.values = array("q")
        return chunk


class _TextColumn(_Column):
    def __init__(self, layout: VariableLayout, max_bytes: int, report: WriteReport) -> None:
        super().__init__(layout)
        self.values: list[bytes] = []
        self.max_bytes = max_bytes
        self.report = report
        self.width = 0  # the longest value so far, in bytes

    def append(self, value: Any) -> None:
        if value is None:
            self.values.append(b"")  # a string's system-missing value is the empty string
            return
        text = value if isinstance(value, str) else str(value)
        # NUL ends a fixed-width string in both formats; nothing after it would survive.
        text = text.replace("\x00", "")
        # Cheap test first: a string of n characters holds at most 4n bytes of UTF-8.
        if len(text) * 4 > self.max_bytes:
            text, cut = truncate_utf8(text, self.max_bytes)
            if cut:
                self.report.count_truncation(self.variable.name)
        # "replace" only matters for lone surrogates, which UTF-8 cannot carry at all.
        data = text.encode("utf-8", "replace")
        # SPSS pads strings with spaces and drops trailing ones on reading, as before.
        self.values.append(data)
        if len(data) > self.width:
            self.width = len(data)

    def take(self) -> Any:
        chunk, self.values = self.values, []
        return chunk


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
                yield pickle.load(self.file)  # noqa: S301 - our own scratch file
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
    appenders = [column.append for column in columns]
    # Stata: codes written as extended missing values take no part in the integer range.
    letters = [list(layout.dta_missing) if fmt == "dta" else [] for layout in layouts]
    ranged = [
        i
        for i, c in enumerate(columns)
        if isinstance(c, _CodeColumn | _FlagColumn) and layouts[i].variable.kind != "numeric"
    ]
    pending = 0

    def flush() -> None:
        nonlocal pending
        chunk = [column.take() for column in columns]
        for i in ranged:
            spool.ranges[i] = _widen(spool.ranges[i], chunk[i], letters[i])
        pickle.dump((pending, chunk), scratch, protocol=pickle.HIGHEST_PROTOCOL)
        pending = 0

    for index, row in enumerate(rows):
        if len(row) != width:
            raise ExportError(f"row {index}: {len(row)} values for {width} variables")
        for append, value in zip(appenders, row, strict=True):
            append(value)
        report.rows += 1
        pending += 1
        if pending == CHUNK_ROWS:
            flush()
    if pending:
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
            fmt = f"%-{min(max(width, 1), STR_MAX)}s" if code != STRL else "%9s"
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
