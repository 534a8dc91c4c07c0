"""The codebook: every variable's names per format, wording, kind, codes, labels and definitions."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Sequence
from typing import Any, BinaryIO, Literal, TextIO

from .layout import VariableLayout, variable_layouts
from .safety import neutralise
from .schema import FLAG_LABELS, TRUNCATED_NOTE, TRUNCATED_WHERE, Codebook, gettext_noop

CodebookFormat = Literal["csv", "json", "md", "html"]

FORMAT_NOTES: tuple[str, ...] = (
    gettext_noop(
        "CSV and XLSX: a text cell that starts with =, +, -, @, a tab or a carriage return is "
        "prefixed with a single quote (') so spreadsheet programs do not run it as a formula. "
        "Numbers are never prefixed."
    ),
    gettext_noop(
        "CSV and XLSX: categorical codes that are integers are written as numbers, other codes as "
        "text; the labelled export writes each category's label instead of its code. "
        "multi_flag columns are 0 (not selected) / 1 (selected) in every format."
    ),
    gettext_noop("Datetimes are in UTC with the time zone removed."),
    gettext_noop("XLSX: text longer than 32,767 characters is cut and ends with ' [truncated]'."),
    gettext_noop(
        "SAV and DTA: categorical variables are stored as numbers with value labels. When "
        "every code is an integer the integer itself is stored; otherwise the codes are "
        "numbered 1..n in the order listed here (column numeric_code), non-substantive "
        "answers last. Missing answers are system-missing. Non-substantive answers (don't "
        "know, not applicable, refused: column missing) keep their code, declared "
        "user-missing in SAV; DTA stores them as extended missing values .a, .b, ... (column "
        "missing), so both programs leave them out of means."
    ),
    gettext_noop(
        "SAV and DTA: variable names are made valid for each program (letters, digits and "
        "underscores, starting with a letter; at most 64 bytes for SPSS and 32 characters for "
        "Stata, a little less for a Stata variable with value labels, whose label set is named "
        "after it plus a number; no reserved words; unique ignoring case). A shortened name ends "
        "with _ and four characters of a hash of the full name; a clash gets _2, _3... "
        "(columns sav_name, dta_name)."
    ),
    gettext_noop(
        "SAV: variable labels are cut to 255 bytes and value labels to 120 bytes; text answers "
        "longer than 32,767 bytes are cut and end with ' [truncated]'."
    ),
    gettext_noop(
        "DTA (Stata 14+ format 118, UTF-8): variable labels are cut to 80 characters; long text "
        "is stored as strL, so text answers are not cut."
    ),
)

# Headings of the Markdown and HTML codebooks (the CSV and JSON keys are names, not text).
CODEBOOK = gettext_noop("Codebook")
LANGUAGE_LINE = gettext_noop("Language: {language}")
NOTES = gettext_noop("Notes")
VARIABLES = gettext_noop("Variables")
SHORTENED = gettext_noop("{format} label (shortened): {label}")
VARIABLE_COLUMNS = (
    gettext_noop("name"),
    gettext_noop("SAV name"),
    gettext_noop("DTA name"),
    gettext_noop("kind"),
    gettext_noop("measure"),
    gettext_noop("label"),
)
VALUE_COLUMNS = (
    gettext_noop("code"),
    gettext_noop("numeric code"),
    gettext_noop("label"),
    gettext_noop("definition"),
)
# Every English text of this library, for a caller building `Codebook.texts` in a language.
LIBRARY_TEXTS: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            *FORMAT_NOTES,
            CODEBOOK,
            LANGUAGE_LINE,
            NOTES,
            VARIABLES,
            SHORTENED,
            *VARIABLE_COLUMNS,
            *VALUE_COLUMNS,
            TRUNCATED_NOTE,
            TRUNCATED_WHERE,
        )
    )
)

TABLE_COLUMNS: tuple[str, ...] = (
    "name",
    "sav_name",
    "dta_name",
    "kind",
    "measure",
    "code_scheme",
    "label",
    "sav_label",
    "dta_label",
    "description",
    "code",
    "numeric_code",
    "value_label",
    "definition",
    "missing",
)


def _numeric(layout: VariableLayout, code: str) -> int | None:
    return layout.numeric_codes.get(code)


def codebook_table(codebook: Codebook) -> list[dict[str, Any]]:
    """The codebook as a long table: one row per variable, then one row per value label.

    Variable rows have an empty ``code``; value-label rows repeat the variable's names.
    """
    table: list[dict[str, Any]] = []
    for layout in variable_layouts(codebook.variables):
        variable = layout.variable
        names = {"name": variable.name, "sav_name": layout.sav_name, "dta_name": layout.dta_name}
        table.append(
            {
                **dict.fromkeys(TABLE_COLUMNS, ""),
                **names,
                "kind": variable.kind,
                "measure": variable.effective_measure,
                "code_scheme": layout.code_scheme,
                "label": variable.label,
                "sav_label": layout.sav_label if layout.sav_label != variable.label else "",
                "dta_label": layout.dta_label if layout.dta_label != variable.label else "",
                "description": variable.description,
            }
        )
        for code, label in _value_labels(layout).items():
            numeric = _numeric(layout, code)
            table.append(
                {
                    **dict.fromkeys(TABLE_COLUMNS, ""),
                    **names,
                    "code": code,
                    "numeric_code": "" if numeric is None else numeric,
                    "value_label": label,
                    "definition": variable.value_definitions.get(code, ""),
                    "missing": _missing_mark(layout, code),
                }
            )
    return table


def _missing_mark(layout: VariableLayout, code: str) -> str:
    """'' for a substantive code; for a non-substantive one, how DTA writes it (.a, ...)."""
    if code not in layout.variable.missing_codes:
        return ""
    return "." + layout.dta_missing.get(layout.numeric_codes[code], "")


def _value_labels(layout: VariableLayout) -> dict[str, str]:
    if layout.code_scheme == "flag":
        return {**FLAG_LABELS, **layout.variable.value_labels}
    return dict(layout.variable.value_labels)


def codebook_dict(codebook: Codebook) -> dict[str, Any]:
    """The codebook as plain JSON-ready data, value labels nested under their variable."""
    variables = []
    for layout in variable_layouts(codebook.variables):
        variable = layout.variable
        variables.append(
            {
                "name": variable.name,
                "names": {"sav": layout.sav_name, "dta": layout.dta_name},
                "label": variable.label,
                "labels": {"sav": layout.sav_label, "dta": layout.dta_label},
                "kind": variable.kind,
                "measure": variable.effective_measure,
                "description": variable.description,
                "code_scheme": layout.code_scheme,
                "missing_codes": sorted(variable.missing_codes),
                "value_labels": [
                    {
                        "code": code,
                        "numeric_code": _numeric(layout, code),
                        "label": label,
                        "definition": variable.value_definitions.get(code, ""),
                    }
                    for code, label in _value_labels(layout).items()
                ],
            }
        )
    return {
        "title": codebook.title,
        "language": codebook.language,
        "metadata": dict(codebook.metadata),
        "notes": list(codebook.notes),
        "format_notes": [codebook.text(note) for note in FORMAT_NOTES],
        "variables": variables,
    }


# Underscores inside words (variable names) never start emphasis, so they stay readable.
_MD_SPECIAL = re.compile(r"([\\`*\[\]|#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def _md(text: object) -> str:
    """Markdown-safe text: HTML escaped (renderers pass HTML through), specials backslashed."""
    escaped = _MD_SPECIAL.sub(
        lambda match: "\\" + match.group(0), html.escape(str(text), quote=False)
    )
    return escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(_md(cell) for cell in header) + " |"]
    lines.append("|" + "---|" * len(header))
    lines.extend("| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows)
    return lines


def render_markdown(codebook: Codebook) -> str:
    """The codebook as a Markdown document."""
    data = codebook_dict(codebook)
    t = codebook.text
    lines = [f"# {_md(codebook.title or t(CODEBOOK))}", ""]
    if codebook.language:
        lines += [_md(t(LANGUAGE_LINE).format(language=codebook.language)), ""]
    lines += [f"- {_md(key)}: {_md(value)}" for key, value in codebook.metadata.items()]
    lines += ["", f"## {_md(t(NOTES))}", ""]
    lines += [f"- {_md(note)}" for note in (*codebook.notes, *map(t, FORMAT_NOTES))]
    lines += ["", f"## {_md(t(VARIABLES))}", ""]
    lines += _md_table(
        tuple(map(t, VARIABLE_COLUMNS)),
        [
            (v["name"], v["names"]["sav"], v["names"]["dta"], v["kind"], v["measure"], v["label"])
            for v in data["variables"]
        ],
    )
    for variable in data["variables"]:
        lines += ["", f"### {_md(variable['name'])}", "", _md(variable["label"]), ""]
        if variable["description"]:
            lines += [_md(variable["description"]), ""]
        for fmt in ("sav", "dta"):
            if variable["labels"][fmt] != variable["label"]:
                shortened = t(SHORTENED).format(format=fmt.upper(), label=variable["labels"][fmt])
                lines += [_md(shortened), ""]
        if variable["value_labels"]:
            lines += _md_table(
                tuple(map(t, VALUE_COLUMNS)),
                [
                    (
                        item["code"],
                        "" if item["numeric_code"] is None else item["numeric_code"],
                        item["label"],
                        item["definition"],
                    )
                    for item in variable["value_labels"]
                ],
            )
    return "\n".join(lines) + "\n"


def _h(text: object) -> str:
    return html.escape(str(text), quote=True)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    out = [
        "<table>",
        "<thead><tr>" + "".join(f"<th>{_h(c)}</th>" for c in header) + "</tr></thead>",
    ]
    out.append("<tbody>")
    out.extend("<tr>" + "".join(f"<td>{_h(c)}</td>" for c in row) + "</tr>" for row in rows)
    out += ["</tbody>", "</table>"]
    return out


def render_html(codebook: Codebook) -> str:
    """The codebook as a standalone HTML page; every piece of text is escaped."""
    data = codebook_dict(codebook)
    t = codebook.text
    title = _h(codebook.title or t(CODEBOOK))
    lang = f' lang="{_h(codebook.language)}"' if codebook.language else ""
    out = [
        "<!DOCTYPE html>",
        f"<html{lang}>",
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{title}</title>",
        "<style>body{font-family:sans-serif;max-width:70em;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .4em;"
        "vertical-align:top;white-space:pre-wrap;text-align:left}</style>",
        "</head>",
        "<body>",
        f"<h1>{title}</h1>",
    ]
    if codebook.metadata:
        out.append("<dl>")
        for key, value in codebook.metadata.items():
            out.append(f"<dt>{_h(key)}</dt><dd>{_h(value)}</dd>")
        out.append("</dl>")
    out += [f"<h2>{_h(t(NOTES))}</h2>", "<ul>"]
    out += [f"<li>{_h(note)}</li>" for note in (*codebook.notes, *map(t, FORMAT_NOTES))]
    out += ["</ul>", f"<h2>{_h(t(VARIABLES))}</h2>"]
    out += _html_table(
        tuple(map(t, VARIABLE_COLUMNS)),
        [
            (v["name"], v["names"]["sav"], v["names"]["dta"], v["kind"], v["measure"], v["label"])
            for v in data["variables"]
        ],
    )
    for variable in data["variables"]:
        out += [f'<h3 id="var-{_h(variable["name"])}">{_h(variable["name"])}</h3>']
        out.append(f"<p>{_h(variable['label'])}</p>")
        if variable["description"]:
            out.append(f"<p>{_h(variable['description'])}</p>")
        if variable["value_labels"]:
            out += _html_table(
                tuple(map(t, VALUE_COLUMNS)),
                [
                    (
                        item["code"],
                        "" if item["numeric_code"] is None else item["numeric_code"],
                        item["label"],
                        item["definition"],
                    )
                    for item in variable["value_labels"]
                ],
            )
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _render_csv(codebook: Codebook) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(TABLE_COLUMNS)
    for row in codebook_table(codebook):
        # The codebook is opened in spreadsheets too: same formula rule as the data.
        writer.writerow(
            [neutralise(value) if isinstance(value, str) else value for value in row.values()]
        )
    return buffer.getvalue()


def render_codebook(codebook: Codebook, *, format: CodebookFormat) -> str:
    """The codebook as text in the given format (csv holds the variable table only)."""
    if format == "csv":
        return _render_csv(codebook)
    if format == "json":
        return json.dumps(codebook_dict(codebook), ensure_ascii=False, indent=2) + "\n"
    if format == "md":
        return render_markdown(codebook)
    if format == "html":
        return render_html(codebook)
    raise ValueError(f"unknown codebook format {format!r}; expected csv, json, md or html")


def write_codebook(codebook: Codebook, out: BinaryIO | TextIO, *, format: CodebookFormat) -> None:
    """Write the codebook to a text or binary (UTF-8) stream in csv, json, md or html."""
    text = render_codebook(codebook, format=format)
    if isinstance(out, io.TextIOBase):
        out.write(text)
    else:
        out.write(text.encode("utf-8"))  # type: ignore[arg-type]
