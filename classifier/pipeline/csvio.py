"""Reading labelled CSV files with row-precise error messages."""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from typing import IO, Any

from .errors import CsvError

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
    raw = _read_bytes(file_or_path)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        raise CsvError("the CSV file is empty (no header row and no data)", row=None, line=1)
    text = raw.decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
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
    ti, li = columns.index(text_column), columns.index(label_column)
    texts: list[str] = []
    labels: list[Any] = []
    first_row: dict[str, int] = {}
    row = 0
    while True:
        line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CsvError(
                f"row {row + 1} (line {line}): malformed CSV: {exc}", row=row + 1, line=line
            ) from exc
        if not record or all(not f.strip() for f in record):
            continue  # blank line
        row += 1
        where = f"row {row} (line {line})"
        for value in record:
            bad = _bad_byte(value)
            if bad:
                raise CsvError(
                    f"{where}: byte {bad} is not valid UTF-8; save the file as UTF-8",
                    row=row,
                    line=line,
                )
        value_text = record[ti] if ti < len(record) else ""
        value_label = record[li] if li < len(record) else ""
        if not value_text.strip():
            raise CsvError(f"{where}: empty text in column {text_column!r}", row=row, line=line)
        if multilabel:
            parts = [p.strip() for p in value_label.split(label_separator)]
            label: Any = tuple(dict.fromkeys(p for p in parts if p))
            for p in label:
                first_row.setdefault(p, row)
        else:
            label = value_label.strip()
            if not label:
                raise CsvError(
                    f"{where}: empty label in column {label_column!r}", row=row, line=line
                )
            first_row.setdefault(label, row)
        texts.append(value_text)
        labels.append(label)
    if not texts:
        raise CsvError("the CSV file has a header but no data rows", row=None, line=2)
    if check_label_counts:
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
    return texts, labels
