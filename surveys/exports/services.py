"""Data exports: the services views and tasks call.

The work lives in the modules beside this one: `requests` (options, validation, errors),
`jobs` (background ExportJob rows: request, claim, run, sweep), `streaming` (CSV to the
browser), `codebook` (codebook documents) and `downloads` (a finished job's file). The file
writing lives in `exports.formats`, a plain library with no Django import; rows come from
`surveys.variables.reader`.

What a researcher gets:
- XLSX: one workbook with the sheets "data", "codebook" and "about".
- CSV, SAV and DTA as a background job: a .zip holding the data file, ``<name>_codebook.csv``
  (one row per variable and per value label: names in each format, question wording, value
  labels, category definitions) and ``<name>_codebook.html`` (the same, readable in a browser).
- CSV streamed straight to the browser (`export_stream_csv`): the bare CSV; its codebook is a
  download of its own (`export_codebook`).
Every request and every download of a file writes an audit entry (action "export").
"""

from __future__ import annotations

from surveys.exports.codebook import ExportDocument, export_codebook, export_variables
from surveys.exports.downloads import (
    ExportFile,
    export_download,
    export_job_for_requester,
    export_jobs_for,
)
from surveys.exports.jobs import (
    ExportSweepResult,
    export_request,
    export_run,
    exports_sweep,
    exports_withdraw,
)
from surveys.exports.requests import (
    ExportExpired,
    ExportForbidden,
    ExportInvalid,
    ExportNotFound,
    ExportNotReady,
    ExportOptions,
    ExportRequestError,
    ExportTooLarge,
    ExportTooMany,
    ExportWithdrawn,
    export_filename,
    export_options,
    export_responses,
)
from surveys.exports.streaming import ExportStream, export_stream_csv

__all__ = [
    "ExportDocument",
    "ExportExpired",
    "ExportFile",
    "ExportForbidden",
    "ExportInvalid",
    "ExportNotFound",
    "ExportNotReady",
    "ExportOptions",
    "ExportRequestError",
    "ExportStream",
    "ExportSweepResult",
    "ExportTooLarge",
    "ExportTooMany",
    "ExportWithdrawn",
    "export_codebook",
    "export_download",
    "export_filename",
    "export_job_for_requester",
    "export_jobs_for",
    "export_options",
    "export_request",
    "export_responses",
    "export_run",
    "export_stream_csv",
    "export_variables",
    "exports_sweep",
    "exports_withdraw",
]
