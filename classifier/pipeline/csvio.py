"""Reading labelled CSV files with row-precise error messages."""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from .errors import CsvError

if TYPE_CHECKING:
    from _csv import Reader

_SURROGATE_LOW, _SURROGATE_HIGH = "\udc80", "\udcff"


def _read_bytes(file_or_path: str | os.PathLike[str] | IO[Any]) -> bytes:
    """Return the raw bytes of a path or of a binary / text file object."""
    if isinstance(file_or_path, (str, os.PathLike)):
        try:
            with open(file_or_path, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise CsvError(f"cannot read {os.fspath(file_or_path)!s}: {exc.strerror}") from exc
    buffer = getattr(file_or_path, "buffer", None)
    if isinstance(file_or_path, io.TextIOBase) and buffer is not None:
        return bytes(buffer.read())  # undecoded, so bad bytes can be located
    try:
        data = file_or_path.read()
    except UnicodeDecodeError as exc:
        raise CsvError(f"the file is not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
    if isinstance(data, str):
        return data.encode("utf-8", errors="surrogatepass")
    return bytes(data)


def _bad_byte(value: str) -> str | None:
    """Return a description of the first undecodable byte in ``value``, if any."""
    for ch in value:
        if _SURROGATE_LOW <= ch <= _SURROGATE_HIGH:
            return f"0x{ord(ch) - 0xDC00:02x}"
    return None


def _decode(raw: bytes) -> str:
    """Drop a UTF-8 BOM, refuse an empty file and decode, keeping bad bytes as surrogates."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        raise CsvError("the CSV file is empty (no header row and no data)", row=None, line=1)
    return raw.decode("utf-8", errors="surrogateescape")


def _column_indices(reader: Reader, *, text_column: str, label_column: str) -> tuple[int, int]:
    """Read the header row and return the indices of the text and label columns."""
    try:
        header = next(reader)
    except csv.Error as exc:
        raise CsvError(f"line 1: malformed CSV header: {exc}", row=None, line=1) from exc
    bad = _bad_byte(",".join(header))
    if bad:
        raise CsvError(f"line 1 (header): byte {bad} is not valid UTF-8", row=None, line=1)
    columns = [h.strip() for h in header]
    missing = [c for c in (text_column, label_column) if c not in columns]
    if missing:
        present = ", ".join(repr(c) for c in columns) or "(none)"
        raise CsvError(
            f"column {missing[0]!r} not found in the CSV header; columns present: {present}",
            row=None,
            line=1,
        )
    return columns.index(text_column), columns.index(label_column)


def _data_records(reader: Reader) -> Iterator[tuple[int, int, list[str]]]:
    """Yield (1-based data row, file line, record) for each non-blank record after the header."""
    row = 0
    while True:
        line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvError(
                f"row {row + 1} (line {line}): malformed CSV: {exc}", row=row + 1, line=line
            ) from exc
        if not record or all(not f.strip() for f in record):
            continue  # blank line
        row += 1
        yield row, line, record


def _check_utf8(record: list[str], *, row: int, line: int) -> None:
    """Raise :class:`CsvError` at the first undecodable byte of a record."""
    for value in record:
        bad = _bad_byte(value)
        if bad:
            raise CsvError(
                f"row {row} (line {line}): byte {bad} is not valid UTF-8; save the file as UTF-8",
                row=row,
                line=line,
            )


def _parse_label(
    value: str, *, multilabel: bool, separator: str, label_column: str, row: int, line: int
) -> Any:
    """Return a stripped label, or a tuple of distinct stripped labels when multi-label."""
    if multilabel:
        parts = [p.strip() for p in value.split(separator)]
        return tuple(dict.fromkeys(p for p in parts if p))
    label = value.strip()
    if not label:
        raise CsvError(
            f"row {row} (line {line}): empty label in column {label_column!r}", row=row, line=line
        )
    return label


def _check_label_counts(labels: list[Any], first_row: dict[str, int], *, multilabel: bool) -> None:
    """Raise :class:`CsvError` at the first row of the earliest label that occurs only once."""
    counts = Counter(x for lab in labels for x in (lab if multilabel else (lab,)))
    once = sorted((first_row[k], k) for k, v in counts.items() if v == 1)
    if once:
        r, lab = once[0]
        others = f" (and {len(once) - 1} other label(s))" if len(once) > 1 else ""
        raise CsvError(
            f"row {r}: label {lab!r} occurs only once{others}; every label needs at least "
            "2 examples to be cross-validated",
            row=r,
        )


def read_labelled_csv(
    file_or_path: str | os.PathLike[str] | IO[Any],
    *,
    text_column: str = "text",
    label_column: str = "label",
    multilabel: bool = False,
    label_separator: str = ";",
    check_label_counts: bool = True,
) -> tuple[list[str], list[Any]]:
    """Read UTF-8 CSV into (texts, labels); labels are str, or tuples of str when multi-label.

    Raises :class:`CsvError` naming the 1-based data row (and file line) for a missing column,
    an empty text, an empty single-label label, a non-UTF-8 byte, or a label occurring only once
    (it cannot be cross-validated; skipped with ``check_label_counts=False``), and for an empty
    file. Texts are returned exactly as written; labels are stripped of surrounding whitespace.
    """
    text = _decode(_read_bytes(file_or_path))
    reader = csv.reader(io.StringIO(text, newline=""))
    ti, li = _column_indices(reader, text_column=text_column, label_column=label_column)
    texts: list[str] = []
    labels: list[Any] = []
    first_row: dict[str, int] = {}  # each label's first data row, for error messages
    for row, line, record in _data_records(reader):
        _check_utf8(record, row=row, line=line)
        value_text = record[ti] if ti < len(record) else ""
        value_label = record[li] if li < len(record) else ""
        if not value_text.strip():
            raise CsvError(
                f"row {row} (line {line}): empty text in column {text_column!r}",
                row=row,
                line=line,
            )
        label = _parse_label(
            value_label,
            multilabel=multilabel,
            separator=label_separator,
            label_column=label_column,
            row=row,
            line=line,
        )
        for name in label if multilabel else (label,):
            first_row.setdefault(name, row)
        texts.append(value_text)
        labels.append(label)
    if not texts:
        raise CsvError("the CSV file has a header but no data rows", row=None, line=2)
    if check_label_counts:
        _check_label_counts(labels, first_row, multilabel=multilabel)
    return texts, labels
