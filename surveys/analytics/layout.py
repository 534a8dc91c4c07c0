"""The analytics store's column layout and its SQL text; imports no Django.

One row per complete response: its id, language and submission time, then one small integer
column per single-code variable (single choice, Likert item, occupation, country, yes/no, each
row of a matrix) and a bitset per multiple-choice question. A choice column holds the position of
the answer's code in the column's `codes` (1 for the first), so that grouping and filtering
compare integers; a yes/no column 1 or 0; a bitset the options chosen (bit n for the column's
option n), 0 when the question was answered without any of them. NULL is a missing value
everywhere, as in the answers. Bitsets keep the row narrow (a question's options in four bytes
rather than two bytes each), and the row's width is what a count over many responses reads.

The layout is plain data (stored as JSON beside the table) and the statements are plain text
with placeholders, so that this module can be tested, and read, without a database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Mode = Literal["choice", "boolean", "bits"]
BITS_PER_COLUMN = 30  # options per integer bitset (a question with more gets several columns)
Source = tuple[Any, ...]

# Question types (the values of `Question.Type`) and the columns they get.
SINGLE_CODE_TYPES = frozenset({"single_choice", "likert", "occupation", "country"})
YES_NO = "yes_no"
MATRIX = "likert_matrix"
MULTIPLE_CHOICE = "multiple_choice"
ATTRIBUTES = ("response_id", "language", "submitted_at")


@dataclass(frozen=True)
class QuestionSpec:
    """What the layout needs of a question: its id, type, matrix rows and codes."""

    id: int
    type: str
    rows: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()  # choices in order; every reference code for occupation, country


@dataclass(frozen=True)
class Column:
    """One integer column of the store and the variable it holds."""

    name: str
    question: int
    mode: Mode
    row: str = ""
    # A choice column: the integer n stands for codes[n - 1]. A bitset: bit n is option codes[n].
    codes: tuple[str, ...] = ()

    @property
    def keys(self) -> list[tuple[Any, ...]]:
        """The variables this column holds, as (*`SurveyVariable.source`, mode)."""
        if self.mode == "bits":
            return [("flag", self.question, option, "flag") for option in self.codes]
        return [("answer", self.question, self.row, self.mode)]

    def encode(self, code: str) -> int | None:
        """The integer standing for a choice code; None when the layout lacks it."""
        try:
            return self.codes.index(code) + 1
        except ValueError:
            return None

    def decode(self, number: int | None) -> str | None:
        """The code of a stored integer, as the statistics count it ("1"/"0" for yes/no, flags)."""
        if number is None:
            return None
        if self.mode == "choice":
            return self.codes[number - 1]
        return "1" if number else "0"


@dataclass(frozen=True)
class Flag:
    """A multiple-choice option: its bit in a bitset column."""

    column: Column
    bit: int

    def decode(self, bitset: int | None) -> str | None:
        """ "1" when chosen, "0" when the question was answered without it, None when not."""
        if bitset is None:
            return None
        return "1" if bitset & self.bit else "0"


@dataclass(frozen=True)
class Layout:
    """A survey's store: its table and its columns."""

    table: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    def column(self, source: Source, *, boolean: bool) -> Column | None:
        """The column holding the answer variable of `source` (a yes/no one when `boolean`)."""
        found = self._by_key().get((*source, "boolean" if boolean else "choice"))
        return found if isinstance(found, Column) else None

    def flag(self, source: Source) -> Flag | None:
        """The bit holding the multiple-choice flag of `source` ("flag", question, option)."""
        found = self._by_key().get((*source, "flag"))
        return found if isinstance(found, Flag) else None

    def _by_key(self) -> dict[tuple[Any, ...], Column | Flag]:
        held: dict[tuple[Any, ...], Column | Flag] = {}
        for column in self.columns:
            if column.mode == "bits":
                for n, key in enumerate(column.keys):
                    held[key] = Flag(column, 1 << n)
            else:
                held[column.keys[0]] = column
        return held

    def covers(self, other: Layout) -> bool:
        """Every variable of `other` is here, every choice column with every code it knows."""
        mine = self._by_key()
        for column in other.columns:
            for key in column.keys:
                held = mine.get(key)
                if held is None:
                    return False
                if isinstance(held, Column) and not set(column.codes) <= set(held.codes):
                    return False
        return True

    def with_codes(self, extra: Mapping[str, Iterable[str]]) -> Layout:
        """The layout with codes appended to choice columns ({column name: codes})."""
        columns = []
        for column in self.columns:
            if column.mode != "choice":
                columns.append(column)
                continue
            new = [c for c in dict.fromkeys(extra.get(column.name, ())) if c not in column.codes]
            columns.append(replace(column, codes=column.codes + tuple(new)) if new else column)
        return replace(self, columns=tuple(columns))

    def as_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "columns": [
                {
                    "name": c.name,
                    "question": c.question,
                    "mode": c.mode,
                    "row": c.row,
                    "codes": list(c.codes),
                }
                for c in self.columns
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Layout:
        return cls(
            table=data["table"],
            columns=tuple(
                Column(
                    name=c["name"],
                    question=c["question"],
                    mode=c["mode"],
                    row=c["row"],
                    codes=tuple(c["codes"]),
                )
                for c in data.get("columns", ())
            ),
        )


def layout_for(table: str, questions: Sequence[QuestionSpec]) -> Layout:
    """The columns of a survey's questions, in questionnaire order; other types get none."""
    columns: list[Column] = []
    for q in questions:
        if q.type in SINGLE_CODE_TYPES:
            columns.append(Column(f"q{q.id}", q.id, "choice", codes=q.codes))
        elif q.type == YES_NO:
            columns.append(Column(f"q{q.id}", q.id, "boolean"))
        elif q.type == MATRIX:
            columns += [
                Column(f"q{q.id}_r{n}", q.id, "choice", row=row, codes=q.codes)
                for n, row in enumerate(q.rows, start=1)
            ]
        elif q.type == MULTIPLE_CHOICE:
            step = BITS_PER_COLUMN
            columns += [
                Column(f"q{q.id}_b{n}", q.id, "bits", codes=q.codes[start : start + step])
                for n, start in enumerate(range(0, len(q.codes), step), start=1)
            ]
    return Layout(table=table, columns=tuple(columns))


def row_values(layout: Layout, answers: Mapping[tuple[int, str], Any]) -> list[int | None]:
    """A response's column values from its answers {(question id, row): answer}.

    An answer is any object with `choice`, `choices` and `boolean`. Raises KeyError naming the
    column when a choice code is missing from the layout (the store must be rebuilt).
    """
    values: list[int | None] = []
    for column in layout.columns:
        answer = answers.get((column.question, column.row))
        if answer is None:
            values.append(None)
        elif column.mode == "boolean":
            values.append(None if answer.boolean is None else int(bool(answer.boolean)))
        elif column.mode == "bits":
            chosen = set(answer.choices or [])
            values.append(sum(1 << n for n, code in enumerate(column.codes) if code in chosen))
        elif not answer.choice:
            values.append(None)
        else:
            number = column.encode(answer.choice)
            if number is None:
                raise KeyError(column.name)
            values.append(number)
    return values


# --- SQL text -------------------------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_statements(layout: Layout, vendor: str) -> list[str]:
    """CREATE TABLE and its indexes.

    Indexed: the submission time (the window every published table has) and each choice and
    yes/no column, so that filters combine index scans (a bitmap AND on PostgreSQL) instead of
    reading every row; bitsets are read from the table.
    """
    timestamp = "timestamp with time zone" if vendor == "postgresql" else "datetime"
    table = _quote(layout.table)
    lines = [
        "response_id bigint PRIMARY KEY",
        "language varchar(10) NOT NULL",
        f"submitted_at {timestamp} NOT NULL",
        *(
            f"{_quote(c.name)} {'integer' if c.mode == 'bits' else 'smallint'}"
            for c in layout.columns
        ),
    ]
    statements = [f"CREATE TABLE {table} ({', '.join(lines)})"]
    indexed = ["submitted_at", *(c.name for c in layout.columns if c.mode != "bits")]
    for name in indexed:
        index = _quote(f"{layout.table}_{name}")
        statements.append(f"CREATE INDEX {index} ON {table} ({_quote(name)})")
    return statements


def drop_statement(table: str) -> str:
    return f"DROP TABLE IF EXISTS {_quote(table)}"


def insert_statement(layout: Layout) -> str:
    """INSERT of one response's row (its attributes, then every column), %s placeholders; a row
    already there for the response is replaced (PostgreSQL and SQLite both say ON CONFLICT)."""
    names = [*ATTRIBUTES, *(c.name for c in layout.columns)]
    quoted = ", ".join(_quote(n) for n in names)
    marks = ", ".join(["%s"] * len(names))
    updates = ", ".join(f"{_quote(n)} = excluded.{_quote(n)}" for n in names[1:])
    insert = f"INSERT INTO {_quote(layout.table)} ({quoted}) VALUES ({marks})"  # noqa: S608  # nosec B608  # quoted names of the layout, values are parameters
    return f"{insert} ON CONFLICT (response_id) DO UPDATE SET {updates}"  # nosec B608  # as above


def delete_statement(layout: Layout) -> str:
    return f"DELETE FROM {_quote(layout.table)} WHERE response_id = %s"  # noqa: S608  # nosec B608  # quoted names of the layout, values are parameters


def value_sql(held: Column | Flag, alias: str) -> tuple[str, list[Any]]:
    """PostgreSQL: a held variable's value from a store row aliased `alias`, as the answers give it.

    A choice column gives its code (text), a yes/no column "1" or "0", a flag 1 when chosen and
    0 when the question was answered without it; NULL is missing throughout. The parameter is
    the column's codes (a text array) for a choice column, none otherwise.
    """
    if isinstance(held, Flag):
        bits = f"{alias}.{_quote(held.column.name)}"
        return (
            f"CASE WHEN {bits} IS NULL THEN NULL WHEN ({bits} & {held.bit}) <> 0 THEN 1 ELSE 0 END",
            [],
        )
    value = f"{alias}.{_quote(held.name)}"
    if held.mode == "boolean":
        return f"CASE {value} WHEN 1 THEN '1' WHEN 0 THEN '0' END", []
    return f"(%s::text[])[{value}]", [list(held.codes)]


def _contains(vendor: str) -> str:
    if vendor == "postgresql":
        return "a.choices @> %s::jsonb"
    return "EXISTS (SELECT 1 FROM json_each(a.choices) WHERE json_each.value = %s)"


def _build_expression(column: Column, vendor: str) -> tuple[str, list[Any]]:
    where = 'a.question_id = %s AND a."row" = %s'
    params: list[Any] = [column.question, column.row]
    if column.mode == "boolean":
        value = "CASE WHEN a.boolean THEN 1 WHEN NOT a.boolean THEN 0 END"
    elif column.mode == "bits":
        contains = _contains(vendor)
        bits = [f"CASE WHEN {contains} THEN {1 << n} ELSE 0 END" for n in range(len(column.codes))]
        value = " + ".join(bits) if bits else "0"
        for code in column.codes:
            params.append(json.dumps([code]) if vendor == "postgresql" else code)
    else:
        whens = " ".join("WHEN %s THEN %s" for _ in column.codes)
        value = f"CASE a.choice {whens} END" if column.codes else "NULL"
        for number, code in enumerate(column.codes, start=1):
            params += [code, number]
    return f"MAX(CASE WHEN {where} THEN {value} END)", params


def build_statement(
    layout: Layout, vendor: str, *, survey_id: int, response_id: int | None = None
) -> tuple[str, list[Any]]:
    """INSERT ... SELECT of every complete, non-test response of the survey (or of one).

    One pass over the answers grouped by response: each column is the one answer of its
    question and row, turned into the column's integer.
    """
    expressions, params = [], []
    for column in layout.columns:
        sql, column_params = _build_expression(column, vendor)
        expressions.append(sql)
        params += column_params
    names = ", ".join(_quote(n) for n in [*ATTRIBUTES, *(c.name for c in layout.columns)])
    questions = sorted({c.question for c in layout.columns})
    selected = ", ".join(["r.id", "r.language", "r.submitted_at", *expressions])
    join = "LEFT JOIN surveys_answer a ON a.response_id = r.id"
    if questions:
        join += f" AND a.question_id IN ({', '.join(['%s'] * len(questions))})"
        params += questions
    else:
        join += " AND 1 = 0"
    where = "r.survey_id = %s AND r.status = 'complete' AND NOT r.is_test"
    params.append(survey_id)
    if response_id is not None:
        where += " AND r.id = %s"
        params.append(response_id)
    into, grouped = (
        f"INSERT INTO {_quote(layout.table)} ({names})",
        "r.id, r.language, r.submitted_at",
    )
    sql = (
        f"{into} SELECT {selected} FROM surveys_response r {join} WHERE {where} GROUP BY {grouped}"  # noqa: S608  # nosec B608  # quoted names of the layout, values are parameters
    )
    return sql, params
