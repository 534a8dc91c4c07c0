"""How each variable is laid out in SAV and DTA: valid names, numeric codes, fitted labels.

Everything here is computed from the variables alone, so the codebook can state the layout
without seeing any data, and every writer and the codebook agree on it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Literal

from .safety import truncate_chars, truncate_utf8
from .schema import FLAG_LABELS, ExportError, Variable, check_variables

#: Cases (observations) the SAV and DTA writers encode at once, at most (or one, if wider).
BLOCK_BYTES = 2 * 1024 * 1024


def block_ranges(rows: int, row_bytes: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of the blocks of at most BLOCK_BYTES (one row if wider) covering `rows`."""
    step = max(1, BLOCK_BYTES // max(row_bytes, 1))
    for start in range(0, rows, step):
        yield start, min(rows, start + step)


CodeScheme = Literal["integer", "enumerated", "flag", "none"]

STATA_NAME_MAX_CHARS = 32
SPSS_NAME_MAX_BYTES = 64
STATA_VARIABLE_LABEL_MAX_CHARS = 80
STATA_FILE_LABEL_MAX_CHARS = 80
STATA_VALUE_LABEL_MAX_BYTES = 32_000
SPSS_VARIABLE_LABEL_MAX_BYTES = 255
SPSS_VALUE_LABEL_MAX_BYTES = 120
SPSS_FILE_LABEL_MAX_BYTES = 64
SPSS_STRING_MAX_BYTES = 32_767
STATA_STRL_MAX_BYTES = 2_000_000_000
# Stata keeps value labels in int32 and reserves the top of the range for missing codes.
STATA_INT_MIN = -2_147_483_647
STATA_INT_MAX = 2_147_483_620
# SPSS declares at most three discrete user-missing values per variable (or one range).
SPSS_MISSING_DISCRETE_MAX = 3
# Stata's extended missing values, .a to .z, one per non-substantive code.
STATA_MISSING_LETTERS = "abcdefghijklmnopqrstuvwxyz"

STATA_RESERVED = frozenset(
    [
        "_all",
        "_b",
        "byte",
        "_coef",
        "_cons",
        "double",
        "float",
        "if",
        "in",
        "int",
        "long",
        "_n",
        "_N",
        "_pi",
        "_pred",
        "_rc",
        "_skip",
        "strL",
        "using",
        "with",
    ]
)
SPSS_RESERVED = frozenset(
    ["ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"]
)

_INTEGER = re.compile(r"[+-]?[0-9]+")
_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class VariableLayout:
    """A variable's SAV/DTA names, its code -> numeric code map and labels fitted to each format."""

    variable: Variable
    sav_name: str
    dta_name: str
    code_scheme: CodeScheme
    numeric_codes: Mapping[str, int]
    sav_label: str
    dta_label: str

    @property
    def sav_value_labels(self) -> dict[int | float, str]:
        """Value labels fitted to SPSS's 120-byte limit, numeric code -> label."""
        return {
            code: truncate_utf8(label, SPSS_VALUE_LABEL_MAX_BYTES, "…")[0]
            for code, label in self.numeric_value_labels.items()
        }

    @property
    def dta_value_labels(self) -> dict[int | float | str, str]:
        """Value labels fitted to Stata's 32,000-byte limit; missing codes under their letter."""
        letters = self.dta_missing
        return {
            letters.get(code, code): truncate_utf8(label, STATA_VALUE_LABEL_MAX_BYTES, "…")[0]
            for code, label in self.numeric_value_labels.items()
        }

    @property
    def missing_numeric(self) -> tuple[int, ...]:
        """The numeric codes of the variable's non-substantive answers, ascending."""
        codes = self.variable.missing_codes
        return tuple(sorted(n for code, n in self.numeric_codes.items() if code in codes))

    @property
    def sav_missing(self) -> list[Any]:
        """SPSS user-missing values: codes and at most one ``{"lo", "hi"}`` range (or empty)."""
        missing = list(self.missing_numeric)
        if len(missing) <= SPSS_MISSING_DISCRETE_MAX:
            return missing
        valid = set(self.numeric_codes.values()) - set(missing)
        # One range, or one range plus one discrete value at either end (all SPSS allows).
        for spread, single in (
            (missing, []),
            (missing[1:], missing[:1]),
            (missing[:-1], missing[-1:]),
        ):
            low, high = spread[0], spread[-1]
            if not any(low <= n <= high for n in valid):
                return [{"lo": low, "hi": high}, *single]
        raise ExportError(
            f"{self.variable.name}: more than {SPSS_MISSING_DISCRETE_MAX} missing codes "
            "with valid codes between them cannot be declared missing in SPSS"
        )

    @property
    def dta_missing(self) -> dict[int, str]:
        """Numeric code -> Stata extended missing letter (.a, .b, ...) of each missing code."""
        missing = self.missing_numeric
        if len(missing) > len(STATA_MISSING_LETTERS):
            raise ExportError(f"{self.variable.name}: more than 26 missing codes for Stata")
        return dict(zip(missing, STATA_MISSING_LETTERS, strict=False))

    @property
    def numeric_value_labels(self) -> dict[int, str]:
        """Numeric code -> label, as attached to the SAV/DTA column (flags get their defaults)."""
        labels = dict(self.variable.value_labels)
        if self.code_scheme == "flag":
            labels = {**FLAG_LABELS, **labels}
        return {
            self.numeric_codes[code]: label
            for code, label in labels.items()
            if code in self.numeric_codes
        }


def _is_stata_reserved(name: str) -> bool:
    return name in STATA_RESERVED or re.fullmatch(r"str[0-9]+", name) is not None


def _is_spss_reserved(name: str) -> bool:
    return name.upper() in SPSS_RESERVED


def _short_hash(name: str) -> str:
    return hashlib.sha1(name.encode("utf-8"), usedforsecurity=False).hexdigest()[:4]


def _base_name(name: str, max_len: int, reserved: bool) -> str:
    """ASCII letters, digits and underscores, starting with a letter, at most ``max_len`` long."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    candidate = _INVALID_NAME_CHARS.sub("_", folded)
    if not candidate.strip("_"):
        # Nothing of the original survived (for example a name in Chinese): keep it traceable.
        return "v_" + _short_hash(name)
    if reserved or not candidate[0].isalpha():
        candidate = "v_" + candidate.lstrip("_")
    if len(candidate) > max_len:
        # A hash of the full original keeps two long names that share a prefix apart, and the
        # new name does not depend on which other variables happen to be exported.
        candidate = candidate[: max_len - 5] + "_" + _short_hash(name)
    return candidate


def _unique_names(
    names: Sequence[str], max_lens: Sequence[int], is_reserved: Callable[[str], bool]
) -> list[str]:
    result: list[str] = []
    taken: set[str] = set()
    for name, max_len in zip(names, max_lens, strict=True):
        candidate = _base_name(name, max_len, is_reserved(name))
        counter = 1
        unique = candidate
        # Case-insensitive: SPSS folds case, and R or pandas users merging files are safer too.
        while unique.lower() in taken or is_reserved(unique):
            counter += 1
            suffix = f"_{counter}"
            unique = candidate[: max_len - len(suffix)] + suffix
        taken.add(unique.lower())
        result.append(unique)
    return result


def stata_names(names: Sequence[str], labelled: Sequence[bool] | None = None) -> list[str]:
    """Valid, unique Stata names: [A-Za-z][A-Za-z0-9_]*, ≤32 chars, no reserved word.

    The .dta writer names a variable's value-label set after the variable plus a running number
    (0, 1, ... over labelled variables) and Stata caps that name at 32 characters too, so a
    labelled variable's name leaves room for the number.
    """
    flags = labelled if labelled is not None else [False] * len(names)
    max_lens: list[int] = []
    label_sets = 0
    for has_labels in flags:
        if has_labels:
            max_lens.append(STATA_NAME_MAX_CHARS - len(str(label_sets)))
            label_sets += 1
        else:
            max_lens.append(STATA_NAME_MAX_CHARS)
    return _unique_names(names, max_lens, _is_stata_reserved)


def spss_names(names: Sequence[str]) -> list[str]:
    """Valid, unique SPSS names: [A-Za-z][A-Za-z0-9_]*, ≤64 bytes, no reserved keyword."""
    return _unique_names(names, [SPSS_NAME_MAX_BYTES] * len(names), _is_spss_reserved)


def numeric_codes(variable: Variable) -> tuple[CodeScheme, Mapping[str, int]]:
    """The SAV/DTA coding of a variable: integer codes as-is, other codes numbered 1..n."""
    if variable.kind == "multi_flag":
        reasons = {code: int(code) for code in sorted(variable.missing_codes, key=int)}
        return "flag", MappingProxyType({"0": 0, "1": 1, **reasons})
    codes = list(variable.value_labels)
    if variable.kind == "numeric":
        # Labelled points of a numeric scale (e.g. the ends of a slider) keep their own values.
        return "none", MappingProxyType(
            {code: int(code) for code in codes if _fits_stata_int(code)}
        )
    if variable.kind != "categorical":
        return "none", MappingProxyType({})
    as_ints = [int(code) for code in codes if _fits_stata_int(code)]
    if len(as_ints) == len(codes) and len(set(as_ints)) == len(codes):
        return "integer", MappingProxyType(dict(zip(codes, as_ints, strict=True)))
    # Missing codes are numbered last, so that SPSS can declare them as one range if need be;
    # reserved negative ones (-99 not shown, -98 not answered) first, so that they get Stata's
    # first letters (.a, .b) in every variable.
    missing = variable.missing_codes
    reserved = [c for c in codes if c in missing and _fits_stata_int(c) and int(c) < 0]
    ordered = (
        [code for code in codes if code not in missing]
        + reserved
        + [c for c in codes if c in missing and c not in reserved]
    )
    return "enumerated", MappingProxyType({code: i for i, code in enumerate(ordered, start=1)})


def _fits_stata_int(code: str) -> bool:
    return _INTEGER.fullmatch(code) is not None and STATA_INT_MIN <= int(code) <= STATA_INT_MAX


def variable_layouts(variables: Sequence[Variable]) -> list[VariableLayout]:
    """The layout of every variable, in order; deterministic for a given list of variables."""
    check_variables(variables)
    names = [variable.name for variable in variables]
    schemes = [numeric_codes(variable) for variable in variables]
    partial = [
        VariableLayout(
            variable=variable,
            sav_name="",
            dta_name="",
            code_scheme=scheme,
            numeric_codes=codes,
            sav_label=truncate_utf8(variable.label, SPSS_VARIABLE_LABEL_MAX_BYTES, "…")[0],
            dta_label=truncate_chars(variable.label, STATA_VARIABLE_LABEL_MAX_CHARS, "…")[0],
        )
        for variable, (scheme, codes) in zip(variables, schemes, strict=True)
    ]
    labelled = [bool(layout.numeric_value_labels) for layout in partial]
    return [
        replace(layout, sav_name=sav_name, dta_name=dta_name)
        for layout, sav_name, dta_name in zip(
            partial, spss_names(names), stata_names(names, labelled), strict=True
        )
    ]


def code_key(value: object, variable: Variable) -> str:
    """The string code of a categorical cell: strings as-is, integral numbers as digits."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ExportError(f"{variable.name}: a boolean {value!r} is not a category code")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    raise ExportError(f"{variable.name}: {value!r} is not a category code")


def to_numeric_code(value: str, layout: VariableLayout) -> int:
    """The number stored in SAV/DTA for a categorical code; ExportError for an unknown code."""
    known = layout.numeric_codes.get(value)
    if known is not None:
        return known
    if layout.code_scheme == "integer" and _fits_stata_int(value):
        # Integer-coded: an unlabelled integer still means itself.
        return int(value)
    raise ExportError(
        f"{layout.variable.name}: code {value!r} has no value label, so it has no numeric code"
    )
