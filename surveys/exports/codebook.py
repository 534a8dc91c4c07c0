"""The codebook of an export: each variable's export description, and the documents built from it.

A codebook says what every column means (question wording, value labels, category definitions)
and how the file was made; it travels inside each background export and is a download of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from surveys.core.access import User
from surveys.core.i18n import translate
from surveys.exports.formats import LIBRARY_TEXTS, Codebook, Variable, render_codebook
from surveys.exports.missing import NOT_ANSWERED, NOT_SHOWN, REASON_LABELS, has_reasons
from surveys.exports.requests import (
    CODEBOOK_FORMATS,
    CONTENT_TYPES,
    PRIVATE_RESPONSE_FIELDS,
    ExportInvalid,
    ExportOptions,
    Format,
    _require_export,
    _stem,
    export_options,
    export_responses,
)
from surveys.models import ExportJob, Survey
from surveys.variables.catalogue import SurveyVariable, provider_estimates, survey_variables


def _is_private(variable: SurveyVariable) -> bool:
    source = variable.source
    return bool(source) and source[0] == "response" and source[1] in PRIVATE_RESPONSE_FIELDS


def _description(variable: SurveyVariable) -> str:
    # Worded in the active language (export_variable activates the export's).
    origin = variable.source[0] if variable.source else ""
    if origin == "response":
        return _("About the response")
    if origin in {"answer", "flag", "other"}:
        return _("Question %(code)s") % {"code": variable.group}
    if origin:
        return _("Derived (%(origin)s): %(group)s") % {"origin": origin, "group": variable.group}
    return ""


def library_texts(language: str) -> dict[str, str]:
    """The export writers' own English wording (format notes, headings) in `language`."""
    with translation.override(language):
        return {text: _(text) for text in LIBRARY_TEXTS}


def export_variable(variable: SurveyVariable, language: str) -> Variable:
    """The writer library's description of one survey variable, worded in `language`."""
    with translation.override(language):
        description = _description(variable)
    labels = {
        code: translate(texts, language) or code for code, texts in variable.value_labels.items()
    }
    missing = {code for code in variable.missing if code in labels}
    if has_reasons(variable):
        labels.update({code: translate(texts, language) for code, texts in REASON_LABELS.items()})
        missing |= set(REASON_LABELS)
    definitions = {}
    for code, texts in variable.definitions.items():
        text = translate(texts, language)
        if text and code in labels:
            definitions[code] = text
    return Variable(
        name=variable.name,
        label=variable.label_in(language) or variable.name,
        kind=variable.kind,
        value_labels=labels,
        measure=variable.measure,
        description=description,
        value_definitions=definitions,
        missing_codes=frozenset(missing),
    )


def export_variables(
    *, survey: Survey, language: str
) -> tuple[list[SurveyVariable], list[Variable]]:
    """The survey's exportable variables (derived ones included) and their export descriptions."""
    variables = [v for v in survey_variables(survey=survey) if not _is_private(v)]
    return variables, [export_variable(v, language) for v in variables]


def _share(share: dict[str, Any]) -> str:
    if share.get("estimate") is None:
        return _("not estimable yet")
    return _("%(estimate)s (95%% CI %(low)s–%(high)s)") % {
        "estimate": f"{share['estimate']:.1%}",
        "low": f"{share['low']:.1%}",
        "high": f"{share['high']:.1%}",
    }


def _category(variable: SurveyVariable, code: str, language: str) -> str:
    """A category's label: a value label, or (a 0/1 flag of a multi-label codebook) its title."""
    if variable.kind == "categorical":
        return variable.value_label(code, language) or code
    return variable.label_in(language).rsplit(":", 1)[-1].strip() or code


def _audit_line(variable: SurveyVariable, audit: dict[str, Any]) -> str:
    line = _(
        "%(name)s: labels are %(status)s (%(audited)s of at least %(minimum)s audit answers coded)"
    ) % {
        "name": variable.name,
        "status": audit["status"],
        "audited": audit["audited"],
        "minimum": audit["audit_min"],
    }
    if audit["precision"] is not None:
        line += _(
            "; realised precision of auto-coding %(precision)s (95%% CI %(low)s–%(high)s, n=%(n)s)"
        ) % {
            "precision": f"{audit['precision']:.2f}",
            "low": f"{audit['precision_low']:.2f}",
            "high": f"{audit['precision_high']:.2f}",
            "n": audit["precision_n"],
        }
    return line


def audit_notes(*, survey: Survey, source: Sequence[SurveyVariable], language: str) -> list[str]:
    """The codebook summary of coded variables: audit status, precision and corrected shares."""
    notes = []
    with translation.override(language):
        for variable in source:
            estimates = provider_estimates(survey, variable)
            if not estimates:
                continue
            shares = "; ".join(
                _("%(category)s: audited share %(ppi)s, auto-coded only %(naive)s")
                % {
                    "category": _category(variable, code, language),
                    "ppi": _share(share["ppi"]),
                    "naive": _share(share["naive"]),
                }
                for code, share in estimates["shares"].items()
            )
            notes.append(f"{_audit_line(variable, estimates['audit'])}. {shares}.")
    return notes


def codebook_for(
    survey: Survey,
    options: ExportOptions,
    variables: Sequence[Variable],
    *,
    rows: int,
    when: datetime,
    source: Sequence[SurveyVariable] = (),
) -> Codebook:
    language = options.language
    with translation.override(language):
        notes = _codebook_notes(options, rows)
    notes += audit_notes(survey=survey, source=source, language=language)
    return Codebook(
        variables=variables,
        title=survey.text("title", language) or survey.slug,
        language=language,
        notes=notes,
        metadata={
            "survey": survey.slug,
            "exported_at": when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "responses": options.responses,
            "values": options.values,
            "format": options.format,
            "rows": str(rows),
        },
        texts=library_texts(language),
    )


def _codebook_notes(options: ExportOptions, rows: int) -> list[str]:
    """The notes of a codebook, in the active language."""
    scope = ExportJob.Scope(options.responses).label
    if options.format in {Format.SAV, Format.DTA}:
        values = _("Categories are stored as codes with their value labels attached.")
    elif options.labels:
        name = dict(settings.LANGUAGES).get(options.language, options.language)
        values = _("Categories are written as their labels in %(language)s.") % {"language": name}
    else:
        values = _("Categories are written as codes; their labels are listed in the codebook.")
    return [
        _("One row per response: %(scope)s (%(rows)s at the time of export).")
        % {"scope": str(scope).lower(), "rows": rows},
        values,
        _(
            "Free-text answers are exported as respondents gave them; they may contain details "
            "a respondent chose to write about themselves."
        ),
        _(
            "Variables whose names start with cls_ are codings of free-text answers by the "
            "classifier (the category, or 0/1 per category of a multi-label codebook, the "
            "confidence between 0 and 1, and the review status); they are empty where an "
            "answer has not been coded."
        ),
        _(
            "An empty answer to a question says why: %(not_shown)s = not shown (the survey's "
            "skip logic hid the question from this respondent), %(not_answered)s = shown but not "
            "answered. CSV and Excel exports write the code (or its label); SPSS declares both "
            "user-missing and Stata stores them as the extended missing values .a (not shown) "
            "and .b (not answered); so do numbers and the 0/1 columns of multiple-choice "
            "questions. Free-text answers stay empty in both cases."
        )
        % {"not_shown": NOT_SHOWN, "not_answered": NOT_ANSWERED},
        _(
            "A review status of 'provisional' marks a model label the survey's audit sample "
            "cannot vouch for yet: it is not a final code. Category shares are corrected by that "
            "audit sample (prediction-powered inference), with the share among auto-coded "
            "answers alone beside them."
        ),
        _("Resume links and receipt codes are never exported."),
    ]


@dataclass(frozen=True)
class ExportDocument:
    """A small generated file (a codebook) held in memory."""

    filename: str
    content_type: str
    content: bytes


def export_codebook(
    *,
    user: User,
    survey: Survey,
    language: str | None = None,
    format: str = "html",
    responses: str = "complete",
) -> ExportDocument:
    """The codebook of the survey's exports (no answers in it) as html, csv, json or md.

    Raises ExportForbidden or ExportInvalid.
    """
    _require_export(user, survey)
    fmt = str(format or "").strip().lower()
    if fmt not in CODEBOOK_FORMATS:
        raise ExportInvalid(
            f"Unknown codebook format {str(format)[:20]!r}: choose html, csv, json or md."
        )
    options = export_options(survey=survey, format=Format.CSV, language=language, status=responses)
    source, variables = export_variables(survey=survey, language=options.language)
    rows = export_responses(survey=survey, responses=options.responses).count()
    now = timezone.now()
    book = codebook_for(survey, options, variables, rows=rows, when=now, source=source)
    text = render_codebook(book, format=fmt)  # type: ignore[arg-type]
    # A BOM lets spreadsheet programs read the CSV's Chinese as UTF-8.
    content = text.encode("utf-8-sig" if fmt == "csv" else "utf-8")
    return ExportDocument(
        filename=f"{_stem(survey, now, 'codebook')}.{fmt}",
        content_type=CONTENT_TYPES[fmt],
        content=content,
    )
