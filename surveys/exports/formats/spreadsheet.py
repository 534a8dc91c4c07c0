"""XLSX export with XlsxWriter in constant-memory mode: sheets "data", "codebook" and "about"."""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import xlsxwriter

from .cells import is_canonical_int, iter_cells
from .codebook import FORMAT_NOTES, TABLE_COLUMNS, codebook_table
from .safety import neutralise, truncate_utf16
from .schema import Codebook, ExportError, Variable, WriteReport

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_CELL_CHARS = 32_767


class _SheetWriter:
    """Writes typed cells; strings always as strings, so nothing can become a formula."""

    def __init__(self, workbook: Any, sheet: Any, report: WriteReport) -> None:
        self.sheet = sheet
        self.report = report
        self.datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
        # XlsxWriter drops unformatted blanks, and a row with no cell vanishes from the file:
        # an all-missing response gets one formatted blank cell so it keeps its row.
        self.blank_format = workbook.add_format()

    def text(self, row: int, col: int, value: str, name: str = "") -> None:
        fitted, cut = truncate_utf16(value, EXCEL_MAX_CELL_CHARS)
        if cut:
            self.report.count_truncation(name or f"column {col + 1}")
        self.sheet.write_string(row, col, fitted)

    def cell(self, row: int, col: int, value: Any, name: str = "") -> None:
        if value is None or value == "":
            return  # constant_memory: an unwritten cell is a blank cell
        if isinstance(value, str):
            self.text(row, col, value, name)
        elif isinstance(value, dt.datetime):
            self.sheet.write_datetime(row, col, value, self.datetime_format)
        elif isinstance(value, dt.date):
            self.sheet.write_datetime(row, col, value, self.date_format)
        elif isinstance(value, int | float | Decimal):
            number = float(value)
            if not math.isnan(number):
                self.sheet.write_number(row, col, number)
        else:
            self.text(row, col, neutralise(str(value)), name)


def _codebook_cell(value: Any) -> Any:
    # A code such as "-99" is a number, as in the data sheet, not a formula to neutralise.
    if not isinstance(value, str):
        return value
    return int(value) if value.startswith("-") and is_canonical_int(value) else neutralise(value)


def _write_codebook_sheets(workbook: Any, codebook: Codebook, report: WriteReport) -> None:
    # Codebook text goes through the same string-only writer; its truncations are not data.
    scratch = WriteReport()
    bold = workbook.add_format({"bold": True})
    sheet = workbook.add_worksheet("codebook")
    sheet.freeze_panes(1, 0)
    writer = _SheetWriter(workbook, sheet, scratch)
    for col, heading in enumerate(TABLE_COLUMNS):
        sheet.write_string(0, col, heading, bold)
    for row, entry in enumerate(codebook_table(codebook), start=1):
        for col, key in enumerate(TABLE_COLUMNS):
            value = entry[key]
            writer.cell(row, col, _codebook_cell(value))

    about = workbook.add_worksheet("about")
    about_writer = _SheetWriter(workbook, about, scratch)
    lines: list[tuple[str, str]] = [
        ("title", codebook.title),
        ("language", codebook.language),
        *((str(key), str(value)) for key, value in codebook.metadata.items()),
        *(
            ("note", note)
            for note in (
                *codebook.notes,
                *report.notes(codebook.texts),
                *(codebook.text(note) for note in FORMAT_NOTES),
            )
        ),
    ]
    about.write_string(0, 0, "field", bold)
    about.write_string(0, 1, "value", bold)
    for row, (key, value) in enumerate(lines, start=1):
        about_writer.cell(row, 0, neutralise(key))
        about_writer.cell(row, 1, neutralise(value))


def write_xlsx(
    rows: Iterable[Sequence[Any]],
    variables: Sequence[Variable],
    path: str | os.PathLike[str],
    *,
    labels: bool,
    codebook: Codebook | None = None,
    report: WriteReport | None = None,
) -> int:
    """Write an XLSX workbook (data, codebook, about) row by row in constant memory; rows written.

    Raises ExportError past Excel's 1,048,576-row or 16,384-column limit.
    """
    report = report if report is not None else WriteReport()
    report.format = report.format or "XLSX"
    codebook = codebook if codebook is not None else Codebook(variables=variables)
    if len(variables) > EXCEL_MAX_COLUMNS:
        raise ExportError(f"{len(variables)} variables exceed Excel's {EXCEL_MAX_COLUMNS} columns")
    workbook = xlsxwriter.Workbook(
        os.fspath(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "use_zip64": True,
        },
    )
    try:
        sheet = workbook.add_worksheet("data")
        sheet.freeze_panes(1, 0)
        bold = workbook.add_format({"bold": True})
        writer = _SheetWriter(workbook, sheet, report)
        names = [variable.name for variable in variables]
        for col, name in enumerate(names):
            sheet.write_string(0, col, neutralise(name), bold)
        for row_index, cells in enumerate(iter_cells(rows, variables, labels=labels), start=1):
            if row_index >= EXCEL_MAX_ROWS:
                raise ExportError(f"more than {EXCEL_MAX_ROWS - 1} rows do not fit in Excel")
            for col, value in enumerate(cells):
                writer.cell(row_index, col, value, names[col])
            if cells and all(value is None or value == "" for value in cells):
                sheet.write_blank(row_index, 0, None, writer.blank_format)
            report.rows += 1
        _write_codebook_sheets(workbook, codebook, report)
    finally:
        workbook.close()
    return report.rows
