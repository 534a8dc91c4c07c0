"""File writers for survey exports: CSV, XLSX, SPSS .sav, Stata .dta and the codebook.

A plain Python library (no Django import): the caller describes columns as `Variable`s and
passes rows of raw values aligned with them. See each writer for its format's rules; the
codebook states them for the people who open the files.
"""

from .codebook import (
    FORMAT_NOTES,
    LIBRARY_TEXTS,
    codebook_dict,
    codebook_table,
    render_codebook,
    write_codebook,
)
from .delimited import iter_csv, write_csv
from .layout import VariableLayout, numeric_codes, spss_names, stata_names, variable_layouts
from .safety import FORMULA_TRIGGERS, TRUNCATION_MARKER, neutralise
from .schema import Codebook, ExportError, Kind, Measure, Variable, WriteReport
from .spreadsheet import write_xlsx
from .statistical import write_dta, write_sav

__all__ = [
    "FORMAT_NOTES",
    "FORMULA_TRIGGERS",
    "LIBRARY_TEXTS",
    "TRUNCATION_MARKER",
    "Codebook",
    "ExportError",
    "Kind",
    "Measure",
    "Variable",
    "VariableLayout",
    "WriteReport",
    "codebook_dict",
    "codebook_table",
    "iter_csv",
    "neutralise",
    "numeric_codes",
    "render_codebook",
    "spss_names",
    "stata_names",
    "variable_layouts",
    "write_codebook",
    "write_csv",
    "write_dta",
    "write_sav",
    "write_xlsx",
]
