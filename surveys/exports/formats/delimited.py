"""CSV export, streamed: rows go out in small chunks and the file is never held in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, BinaryIO, TextIO, cast

from .cells import iter_cell_batches
from .safety import neutralise
from .schema import Variable, WriteReport

BOM = "\ufeff"
# Characters buffered before a chunk is handed on: big enough for few, cheap writes; small
# enough that memory stays flat whatever the number of rows.
DEFAULT_CHUNK_CHARS = 64 * 1024


def _iter_text(
    rows: Iterable[Sequence[Any]],
    variables: Sequence[Variable],
    *,
    labels: bool,
    chunk_chars: int,
    report: WriteReport,
) -> Iterator[str]:
    buffer = io.StringIO()
    # RFC 4180 line ends; fields with separators, quotes or line breaks are quoted.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(variable.name) for variable in variables])
    write, size = buffer.write, buffer.tell
    # Every cell comes as its CSV field, quoted as csv.writer quotes it (`csv_field`): a line is
    # its fields joined, which is what csv.writer writes but for one field left empty, written
    # "" so that the line is not blank. A chunk is handed on as soon as it is full.
    lone = len(variables) == 1
    for batch in iter_cell_batches(rows, variables, labels=labels, csv_fields=True):
        for line in map(",".join, cast("Iterable[Sequence[str]]", batch)):
            write((line or '""') if lone else line)
            write("\r\n")
            report.rows += 1
            if size() >= chunk_chars:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def iter_csv(
    rows: Iterable[Sequence[Any]],
    variables: Sequence[Variable],
    *,
    labels: bool,
    bom: bool = False,
    chunk_chars: int = DEFAULT_CHUNK_CHARS,
    report: WriteReport | None = None,
) -> Iterator[bytes]:
    """Yield the CSV as UTF-8 byte chunks in constant memory (for a streaming HTTP response)."""
    report = report if report is not None else WriteReport()
    report.format = report.format or "CSV"
    if bom:
        yield BOM.encode("utf-8")
    for text in _iter_text(rows, variables, labels=labels, chunk_chars=chunk_chars, report=report):
        # "replace" only matters for lone surrogates, which UTF-8 cannot carry at all.
        yield text.encode("utf-8", "replace")


def write_csv(
    rows: Iterable[Sequence[Any]],
    variables: Sequence[Variable],
    out: BinaryIO | TextIO,
    *,
    labels: bool,
    bom: bool = False,
    report: WriteReport | None = None,
) -> int:
    """Write the CSV to a binary or text stream (open text files with newline=""); rows written."""
    report = report if report is not None else WriteReport()
    if isinstance(out, io.TextIOBase):
        report.format = report.format or "CSV"
        if bom:
            out.write(BOM)
        for text in _iter_text(
            rows, variables, labels=labels, chunk_chars=DEFAULT_CHUNK_CHARS, report=report
        ):
            out.write(text)
    else:
        for chunk in iter_csv(rows, variables, labels=labels, bom=bom, report=report):
            out.write(chunk)  # type: ignore[arg-type]
    return report.rows
