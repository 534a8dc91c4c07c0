"""The description of an export: variables, the codebook that documents them, and write reports.

This module, like the whole `exports.formats` package, imports no Django: the Django layer turns
survey definitions and responses into these plain objects and rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, get_args

Kind = Literal["categorical", "multi_flag", "numeric", "text", "datetime"]
Measure = Literal["nominal", "ordinal", "scale"]

KINDS: frozenset[str] = frozenset(get_args(Kind))
MEASURES: frozenset[str] = frozenset(get_args(Measure))

# What a variable is measured as when its definition does not say: SPSS needs one for each column.
DEFAULT_MEASURE: Mapping[str, Measure] = MappingProxyType(
    {
        "categorical": "nominal",
        "multi_flag": "nominal",
        "numeric": "scale",
        "text": "nominal",
        "datetime": "scale",
    }
)

# Labels SAV/DTA attach to a multi_flag column unless the variable brings its own.
FLAG_LABELS: Mapping[str, str] = MappingProxyType({"0": "not selected", "1": "selected"})


class ExportError(ValueError):
    """A row or variable that cannot be written faithfully; the message names the culprit."""


def _frozen_str_mapping(value: Mapping[Any, object], what: str) -> Mapping[str, str]:
    # Any keys: callers pass str or int codes (a Mapping is invariant in its key), and every key
    # is checked here at run time.
    result: dict[str, str] = {}
    for key, text in value.items():
        if isinstance(key, bool) or not isinstance(key, str | int):
            raise ExportError(f"{what}: code {key!r} must be a string (or an int)")
        if not isinstance(text, str):
            raise ExportError(f"{what}: the text for code {key!r} must be a string")
        result[str(key)] = text
    return MappingProxyType(result)


def _is_int(code: str) -> bool:
    try:
        return str(int(code)) == code
    except ValueError:
        return False


@dataclass(frozen=True)
class Variable:
    """One column of an export: its name, wording, kind and (for categories) value labels.

    ``value_labels`` maps codes (strings: "1", "freelance", "2655", "US") to labels in the order
    the categories should be listed; that order also fixes the numeric codes SAV/DTA use when the
    codes are not integers. ``value_definitions`` maps codes to longer definitions (for example a
    classifier category's definition) that only the codebook carries. ``missing_codes`` are
    the labelled codes of non-substantive answers (don't know, refused): SAV declares them
    user-missing and DTA stores them as extended missing values (.a, .b, ...). Numbers and flags
    may have integer missing codes too (the reasons a cell is empty: -99 not shown, -98 not
    answered); CSV and XLSX write their code, or their label when writing labels.
    """

    name: str
    label: str
    kind: Kind
    value_labels: Mapping[str, str] = field(default_factory=dict)
    measure: Measure | None = None
    description: str = ""
    value_definitions: Mapping[str, str] = field(default_factory=dict)
    missing_codes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ExportError(f"variable name must be a non-empty string, got {self.name!r}")
        if self.kind not in KINDS:
            raise ExportError(f"{self.name}: unknown kind {self.kind!r}; expected one of {KINDS}")
        if self.measure is not None and self.measure not in MEASURES:
            raise ExportError(f"{self.name}: unknown measure {self.measure!r}")
        labels = _frozen_str_mapping(self.value_labels, f"{self.name} value_labels")
        definitions = _frozen_str_mapping(self.value_definitions, f"{self.name} value_definitions")
        unknown = [code for code in definitions if code not in labels]
        if unknown:
            raise ExportError(f"{self.name}: definitions for codes without a label: {unknown}")
        missing = frozenset(str(code) for code in self.missing_codes)
        if missing and self.kind not in {"categorical", "numeric", "multi_flag"}:
            raise ExportError(f"{self.name}: {self.kind} variables have no missing codes")
        if self.kind != "categorical" and not all(_is_int(code) for code in missing):
            raise ExportError(f"{self.name}: missing codes of {self.kind} variables are integers")
        if self.kind == "multi_flag" and missing & {"0", "1"}:
            raise ExportError(f"{self.name}: 0 and 1 are a flag's values, not missing codes")
        unlabelled = sorted(code for code in missing if code not in labels)
        if unlabelled:
            raise ExportError(f"{self.name}: missing codes without a label: {unlabelled}")
        object.__setattr__(self, "value_labels", labels)
        object.__setattr__(self, "value_definitions", definitions)
        object.__setattr__(self, "missing_codes", missing)

    @property
    def effective_measure(self) -> Measure:
        """The measure given, or the default for the kind (text is always nominal for SPSS)."""
        if self.kind == "text":
            return "nominal"
        return self.measure or DEFAULT_MEASURE[self.kind]


def gettext_noop(message: str) -> str:
    """Mark English text of this library for the site's translation catalogue (makemessages
    collects it); the library does not translate: a caller passes `Codebook.texts`."""
    return message


TRUNCATED_NOTE = gettext_noop(
    "{count} value(s) of {name} were truncated{where} to fit the format's limit "
    "(marked with a trailing [truncated])."
)
TRUNCATED_WHERE = gettext_noop(" in the {format} file")


@dataclass(frozen=True)
class Codebook:
    """What an export contains: its variables plus a title, language, notes and free metadata.

    `texts` translates the library's own English wording (format notes, headings, truncation
    notes; see `LIBRARY_TEXTS`) into the codebook's language: English text -> translation.
    """

    variables: Sequence[Variable]
    title: str = ""
    language: str = ""
    notes: Sequence[str] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    texts: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "variables", tuple(self.variables))
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        object.__setattr__(self, "texts", MappingProxyType(dict(self.texts)))
        check_variables(self.variables)

    def text(self, message: str) -> str:
        """The library's English `message` in the codebook's language (as given in `texts`)."""
        return self.texts.get(message) or message

    def with_notes(self, *notes: str) -> Codebook:
        """A copy with extra notes appended (for example a write report's truncation notes)."""
        return Codebook(
            variables=self.variables,
            title=self.title,
            language=self.language,
            notes=(*self.notes, *notes),
            metadata=self.metadata,
            texts=self.texts,
        )


@dataclass
class WriteReport:
    """Filled in by a writer: rows written and, per variable name, how many cells were truncated."""

    rows: int = 0
    truncated: dict[str, int] = field(default_factory=dict)
    format: str = ""

    def count_truncation(self, name: str) -> None:
        """Record that one cell of variable ``name`` was cut to fit the format."""
        self.truncated[name] = self.truncated.get(name, 0) + 1

    def notes(self, texts: Mapping[str, str] | None = None) -> list[str]:
        """Human-readable notes on what was truncated, for the codebook (translated by `texts`)."""
        texts = texts or {}
        where = (texts.get(TRUNCATED_WHERE) or TRUNCATED_WHERE) if self.format else ""
        note = texts.get(TRUNCATED_NOTE) or TRUNCATED_NOTE
        return [
            note.format(count=count, name=name, where=where.format(format=self.format))
            for name, count in sorted(self.truncated.items())
        ]


def check_variables(variables: Sequence[Variable]) -> None:
    """Raise ExportError unless every item is a Variable and names are unique."""
    seen: set[str] = set()
    for variable in variables:
        if not isinstance(variable, Variable):
            raise ExportError(f"expected a Variable, got {type(variable).__name__}")
        if variable.name in seen:
            raise ExportError(f"duplicate variable name {variable.name!r}")
        seen.add(variable.name)
