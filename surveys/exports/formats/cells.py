"""Turning raw row values into spreadsheet cells (CSV and XLSX share these rules)."""

from __future__ import annotations

import datetime as dt
import enum
import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from itertools import islice, repeat
from operator import is_, ne
from typing import Any, Final, cast

from .layout import code_key
from .safety import FORMULA_TRIGGERS, neutralise
from .schema import ExportError, Variable, check_variables

Cell = None | int | float | Decimal | str | dt.datetime | dt.date
Converter = Callable[[Any], Cell]


def is_canonical_int(code: str) -> bool:
    """True for codes that read back as the same integer ("3", "-1", "2655"; not "03" or "+1")."""
    try:
        return str(int(code)) == code
    except ValueError:
        return False


def to_number(value: Any, variable: Variable) -> int | float | Decimal | None:
    """A numeric cell: ints stay ints, NaN becomes missing, numeric strings are parsed."""
    kind = type(value)  # the usual cases first, without the numbers ABCs' slower checks
    if kind is int:
        return value  # type: ignore[no-any-return]
    if kind is float:
        return None if math.isnan(value) else value
    return _other_number(value, variable)


def _other_number(value: Any, variable: Variable) -> int | float | Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        if value.is_nan():
            return None
        return float(value) if value.is_infinite() else value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return to_number(Decimal(value.strip()), variable)
        except InvalidOperation:
            pass
    raise ExportError(f"{variable.name}: {value!r} is not a number")


def to_flag(value: Any, variable: Variable) -> int | None:
    """A multi_flag cell: 0 or 1 (accepts bools and "0"/"1"), or missing."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value in (0, 1) and not isinstance(value, str):
        return int(value)
    if value in ("0", "1"):
        return int(value)
    raise ExportError(f"{variable.name}: {value!r} is not a 0/1 flag")


def to_utc_naive(value: dt.datetime) -> dt.datetime:
    """Aware datetimes converted to UTC and made naive (no export format keeps the offset)."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.replace(tzinfo=None)


def _raw_code(code: str) -> Cell:
    # Integer codes are numbers (so "-1" is not mistaken for a formula); others are text.
    return int(code) if is_canonical_int(code) else neutralise(code)


def _known_cells(variable: Variable, labels: bool) -> dict[str, Cell]:
    return {
        code: (neutralise(label) if labels else _raw_code(code))
        for code, label in variable.value_labels.items()
    }


def _categorical(variable: Variable, labels: bool) -> Converter:
    raw = _raw_code
    known = _known_cells(variable, labels)

    def convert(value: Any) -> Cell:
        if value is None:
            return None
        if value.__class__ is str:
            # The common case, a known code, in one lookup (cells are never None).
            cell = known.get(value)
            if cell is not None:
                return cell
        code = code_key(value, variable)
        if code in known:
            return known[code]
        # A code without a label (labels mode too): write the code rather than lose the answer.
        return raw(code)

    return convert


def _text(value: Any) -> Cell:
    if value is None:
        return None
    return neutralise(value if isinstance(value, str) else str(value))


def to_datetime(value: Any, variable: Variable) -> dt.datetime | dt.date | None:
    """A datetime cell in UTC without time zone; dates stay dates; ISO 8601 strings are parsed."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ExportError(f"{variable.name}: {value!r} is not an ISO 8601 datetime") from None
    if isinstance(value, dt.datetime):
        return to_utc_naive(value)
    if isinstance(value, dt.date):
        return value
    raise ExportError(f"{variable.name}: {value!r} is not a date or datetime")


def _missing_cells(variable: Variable, labels: bool) -> dict[Any, Cell]:
    """The cells of a number's or flag's missing codes (not shown, ...): the code or its label."""
    if variable.kind not in {"numeric", "multi_flag"}:
        return {}
    return {
        code: neutralise(variable.value_labels[code]) if labels else int(code)
        for code in variable.missing_codes
    }


def converter_for(variable: Variable, *, labels: bool) -> Converter:
    """The function that turns one raw value of ``variable`` into a safe spreadsheet cell."""
    if variable.kind == "categorical":
        return _categorical(variable, labels)
    reasons = _missing_cells(variable, labels)
    if reasons:
        plain = converter_for(replace(variable, missing_codes=frozenset()), labels=labels)

        def with_reasons(value: Any) -> Cell:
            cell = reasons.get(value) if value.__class__ is str else None
            return plain(value) if cell is None else cell

        return with_reasons
    if variable.kind == "multi_flag":

        def flag(value: Any) -> Cell:
            if value.__class__ is int and (value == 0 or value == 1):
                return value  # the common case, already a flag
            return to_flag(value, variable)

        return flag
    if variable.kind == "numeric":
        return lambda value: to_number(value, variable)
    if variable.kind == "text":
        return _text
    return lambda value: to_datetime(value, variable)


def _common_cells(variable: Variable, *, labels: bool) -> dict[Any, Cell]:
    """Raw values whose cell is known in advance: what `converter_for` would make of them."""
    common: dict[Any, Cell] = {None: None}  # every converter maps None to None
    if variable.kind == "categorical":
        common.update(_known_cells(variable, labels))
    elif variable.kind == "multi_flag":
        common.update({0: 0, 1: 1})
    common.update(_missing_cells(variable, labels))
    return common


class _Missing(enum.Enum):
    """Not among a variable's common cells (None cannot say so: it is a common cell)."""

    TOKEN = 0


_MISSING: Final = _Missing.TOKEN


# Rows converted together, column by column: a C-level map per column instead of a Python step
# per cell. Small enough that memory stays flat and rows still stream.
CELL_BATCH = 256

# One column's values of a batch -> their cells; the same cells as `_row_cells` gives them.
ColumnCells = Callable[[Sequence[Any]], list[Cell]]


def as_text(cell: Cell) -> str:
    """A cell as a CSV holds it: missing as "", a date or datetime as ISO 8601, a number as
    `str` gives it (as `csv.writer` writes one: a float's `str` is its `repr`)."""
    if cell is None:
        return ""
    if cell.__class__ is str:
        return cell
    if isinstance(cell, dt.datetime | dt.date):
        return cell.isoformat()
    return str(cell)


def _looked_up(common: dict[Any, Cell], convert: Converter) -> ColumnCells:
    def cells(values: Sequence[Any]) -> list[Cell]:
        missing: Final = _MISSING
        # Most values are missing, a known code or a 0/1 flag: found by one lookup each.
        found = list(map(common.get, values, repeat(missing)))
        if any(map(is_, found, repeat(missing))):
            found = [
                convert(value) if cell is missing else cell
                for cell, value in zip(found, values, strict=True)
            ]
        return cast("list[Cell]", found)  # no _MISSING is left

    return cells


_TEXT_KINDS: Final = frozenset({type(None), str})


def _text_cells(convert: Converter, *, csv_fields: bool) -> ColumnCells:
    # A text's only common cell is None's; a str that starts like no formula is its own cell
    # (with `csv_fields`, its CSV field: `convert` gives fields already).
    triggers = FORMULA_TRIGGERS
    nones = {None: ""}
    # A text that starts like no formula: its field, or itself (`str` of a str is the same str).
    own: Callable[[str], str] = csv_field if csv_fields else str
    none = "" if csv_fields else None

    def cells(values: Sequence[Any]) -> list[Cell]:
        # Usually each value is missing or a text that starts like no formula: itself.
        if set(map(type, values)) <= _TEXT_KINDS and not any(
            map(str.startswith, filter(None, values), repeat(triggers))
        ):
            if not csv_fields:
                return list(values)
            texts = cast("list[str]", list(map(nones.get, values, values)))
            return cast("list[Cell]", _csv_column(texts))
        return [
            own(value)
            if value.__class__ is str and not value.startswith(triggers)
            else (none if value is None else convert(value))
            for value in values
        ]

    return cells


_NUMBER_KINDS: Final = frozenset({type(None), int, float, Decimal, str})


def _all_own_numbers(values: Sequence[Any], common: dict[Any, Cell]) -> bool:
    """Whether every value is a common cell or its own cell (an int, a float other than NaN, a
    finite Decimal), told from the column's distinct values without a Python step each."""
    kinds = set(map(type, values))
    if not kinds <= _NUMBER_KINDS or (Decimal in kinds and float in kinds):
        return False  # a float and a Decimal that are equal would hide one another in a set
    others = set(values).difference(common)  # numbers never equal a common key (None, a str)
    if str in set(map(type, others)) or any(map(ne, others, others)):  # a str or NaN: convert
        return False
    return Decimal not in kinds or all(
        value.is_finite() for value in others if value.__class__ is Decimal
    )


def _number_cells(common: dict[Any, Cell], convert: Converter) -> ColumnCells:
    # Ints, floats other than NaN and finite Decimals are their own cells (`to_number`); they are
    # never keys of a number's common cells (None and missing codes, which are str).
    missing: Final = _MISSING

    def cells(values: Sequence[Any]) -> list[Cell]:
        # Usually each value is missing, a missing code or a number: one C-level lookup each.
        if _all_own_numbers(values, common):
            return list(map(common.get, values, values))
        return [
            value
            if ((kind := value.__class__) is float and value == value)  # not NaN
            or kind is int
            or (kind is Decimal and value.is_finite())
            else (convert(value) if (cell := common.get(value, missing)) is missing else cell)
            for value in values
        ]

    return cells


def _datetime_cells(convert: Converter, *, iso: bool) -> ColumnCells:
    # The PostgreSQL reader's datetimes are aware, in UTC: `to_utc_naive` only drops the zone.
    utc = dt.UTC
    if iso:  # CSV fields: ISO 8601 text, "" for a missing value
        # A UTC datetime's ISO text ends with its offset, "+00:00": the naive time's text before it.
        return lambda values: [
            value.isoformat()[:-6]
            if value.__class__ is dt.datetime and value.tzinfo is utc
            else ("" if value is None else convert(value))
            for value in values
        ]
    return lambda values: [
        value.replace(tzinfo=None)
        if value.__class__ is dt.datetime and value.tzinfo is utc
        else (None if value is None else convert(value))
        for value in values
    ]


def _column_cells(
    variable: Variable, common: dict[Any, Cell], convert: Converter, *, csv_fields: bool
) -> ColumnCells:
    """How a batch's column of `variable` becomes cells, its usual values without a call each.

    With `csv_fields`, `common` and `convert` give CSV fields already (`_field_converter`), and
    so does every fill.
    """
    only_none = common.keys() == {None}
    if variable.kind == "text" and only_none:
        return _text_cells(convert, csv_fields=csv_fields)
    if variable.kind == "numeric":
        numbers = _number_cells(common, convert)
        # Numbers are their own cells: their field is what `str` gives (no separator, quote or
        # line break); the rest are fields already.
        return (lambda values: list(map(str, numbers(values)))) if csv_fields else numbers
    if variable.kind == "datetime" and only_none:
        return _datetime_cells(convert, iso=csv_fields)
    return _looked_up(common, convert)


def _row_cells(
    row: Sequence[Any],
    columns: Sequence[tuple[dict[Any, Cell], Converter]],
    converters: Sequence[Converter],
) -> list[Cell]:
    """One row's cells, value by value (the rule `_batch_cells` applies column by column)."""
    missing: Final = _MISSING
    try:
        return [
            convert(value) if (cell := common.get(value, missing)) is missing else cell
            for (common, convert), value in zip(columns, row, strict=True)
        ]
    except TypeError:  # an unhashable value: every value through its converter
        return [convert(value) for convert, value in zip(converters, row, strict=True)]


def _batch_cells(
    batch: Sequence[Sequence[Any]],
    columns: Sequence[tuple[dict[Any, Cell], Converter]],
    converters: Sequence[Converter],
    fills: Sequence[ColumnCells],
) -> Iterable[Sequence[Cell]]:
    """The cells of rows of equal width, one column at a time; the same cells as `_row_cells`."""
    try:
        converted = [
            fill(values) for fill, values in zip(fills, zip(*batch, strict=True), strict=True)
        ]
    except TypeError:  # an unhashable value somewhere: row by row, as without batches
        return [_row_cells(row, columns, converters) for row in batch]
    return zip(*converted, strict=True)


def csv_field(text: str) -> str:
    """A cell's text as csv.writer writes the field (QUOTE_MINIMAL, "\\r\\n" line ends): quoted,
    its quotes doubled, when it holds a separator, a quote or a line break (RFC 4180)."""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_column(column: list[str]) -> list[str]:
    """`csv_field` of each text of a column; one search of the column's text when none needs it."""
    joined = "".join(column)
    if "," in joined or '"' in joined or "\n" in joined or "\r" in joined:
        return list(map(csv_field, column))
    return column


def iter_cell_batches(
    rows: Iterable[Sequence[Any]],
    variables: Sequence[Variable],
    *,
    labels: bool,
    csv_fields: bool = False,
) -> Iterator[Iterable[Sequence[Cell]]]:
    """Lazily convert rows to cells, CELL_BATCH rows at a time: one iterable of rows per batch.

    Each row has one cell per variable (a list or a tuple, to be read, not kept); with
    `csv_fields` every cell is its CSV field, as csv.writer writes it: its text (`as_text`),
    quoted where needed (`csv_field`). A row of the wrong width raises once the rows before it
    are out.
    """
    check_variables(variables)
    converters = [converter_for(variable, labels=labels) for variable in variables]
    commons = [_common_cells(variable, labels=labels) for variable in variables]
    if csv_fields:
        converters = [_field_converter(convert) for convert in converters]
        commons = [
            {key: csv_field(as_text(cell)) for key, cell in common.items()} for common in commons
        ]
    columns = list(zip(commons, converters, strict=True))
    fills = [
        _column_cells(variable, common, convert, csv_fields=csv_fields)
        for variable, (common, convert) in zip(variables, columns, strict=True)
    ]
    width = len(converters)
    source = iter(rows)
    index = 0
    while batch := list(islice(source, CELL_BATCH)):
        wrong = next((i for i, row in enumerate(batch) if len(row) != width), None)
        good = batch if wrong is None else batch[:wrong]
        if good and width:
            yield _batch_cells(good, columns, converters, fills)
        elif good:
            yield [[] for _row in good]
        if wrong is not None:
            raise ExportError(
                f"row {index + wrong}: {len(batch[wrong])} values for {width} variables"
            )
        index += len(batch)


def _field_converter(convert: Converter) -> Converter:
    return lambda value: csv_field(as_text(convert(value)))


def iter_cells(
    rows: Iterable[Sequence[Any]], variables: Sequence[Variable], *, labels: bool
) -> Iterator[list[Cell]]:
    """Lazily convert rows to cells, checking that each row has one value per variable.

    Rows are converted CELL_BATCH at a time, column by column; a row of the wrong width raises
    once the rows before it are out.
    """
    for batch in iter_cell_batches(rows, variables, labels=labels):
        yield from map(list, batch)
