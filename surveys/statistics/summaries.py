"""The dashboard's summaries: a frequency table per closed question, the classifier's shares.

Counts go through `selectors.grouped_counts` like every other figure; with `suppress` (viewers,
and anything that leaves the workbench) the tables come from `statistics.tables` with the
survey's `min_cell_size`, without it (owners and editors) from `statistics.internal`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from surveys.analytics.selectors import Selection
from surveys.models import Response, Survey
from surveys.statistics.internal import crosstab_unsuppressed, frequency_table_unsuppressed
from surveys.statistics.published import CrossTable, FrequencyTable
from surveys.statistics.selectors import grouped_counts
from surveys.statistics.tables import crosstab_from_counts, frequency_table_from_counts
from surveys.variables.catalogue import SurveyVariable, derived_variables, survey_variables
from surveys.variables.sources import survey_responses


@dataclass(frozen=True)
class Share:
    """One category's line: its count as shown ("<k" when suppressed) and its percentage."""

    label: str
    count: str
    percent: float | None


@dataclass(frozen=True)
class QuestionSummary:
    title: str
    name: str
    multiple: bool  # a multiple-choice question: shares of respondents, several per person
    shares: list[Share]
    answered: str
    unanswered: str


@dataclass(frozen=True)
class StatusRow:
    label: str
    cells: list[str]  # per review status
    total: str
    percent: float | None  # the category's share of all coded answers


@dataclass(frozen=True)
class ClassifierShares:
    title: str
    statuses: list[str]
    rows: list[StatusRow]
    total: str
    uncoded: str


def _shown(n: int | None, k: int) -> str:
    return f"<{k}" if n is None else f"{n:,}"


def _frequency(
    counts: Mapping[Any, int], categories: Sequence[Hashable], *, k: int, suppress: bool
) -> FrequencyTable:
    if suppress:
        return frequency_table_from_counts(counts, categories=categories, k=k)
    return frequency_table_unsuppressed(counts, categories=categories)


def _crosstab(
    counts: Mapping[tuple[Any, Any], int],
    rows: Sequence[Hashable],
    cols: Sequence[Hashable],
    *,
    k: int,
    suppress: bool,
) -> CrossTable:
    if suppress:
        return crosstab_from_counts(counts, row_categories=rows, col_categories=cols, k=k)
    return crosstab_unsuppressed(counts, row_categories=rows, col_categories=cols)


def _single(
    survey: Survey, variable: SurveyVariable, language: str, suppress: bool
) -> QuestionSummary:
    k = survey.min_cell_size
    counts: Counter[str | None] = Counter()
    for (code,), n in grouped_counts(
        survey=survey, responses=_complete(survey), variables=[variable], selection=EVERYONE
    ):
        counts[code if code in variable.value_labels else None] += n
    codes = list(variable.value_labels)
    table = _frequency(counts, codes, k=k, suppress=suppress)
    return QuestionSummary(
        title=variable.label_in(language),
        name=variable.name,
        multiple=False,
        shares=[
            Share(variable.value_label(code, language), _shown(cell.n, k), cell.percent)
            for code, cell in zip(codes, table.cells, strict=True)
        ],
        answered=_shown(table.total.n, k),
        unanswered=_shown(table.missing, k),
    )


def _multiple(
    survey: Survey, flags: list[SurveyVariable], language: str, suppress: bool
) -> QuestionSummary:
    k = survey.min_cell_size
    chosen = [0] * len(flags)
    answered = unanswered = 0
    for values, n in grouped_counts(
        survey=survey, responses=_complete(survey), variables=flags, selection=EVERYONE
    ):
        if all(value is None for value in values):
            unanswered += n
            continue
        answered += n
        for position, value in enumerate(values):
            chosen[position] += n if value == "1" else 0
    shares = []
    for flag, n in zip(flags, chosen, strict=True):
        table = _frequency({0: answered - n, 1: n}, [0, 1], k=k, suppress=suppress)
        label = flag.label_in(language)
        label = label.rsplit(":", 1)[-1].strip() if ":" in label else label
        shares.append(Share(label, _shown(table.cells[1].n, k), table.cells[1].percent))
    total = _frequency({1: answered, None: unanswered}, [1], k=k, suppress=suppress)
    title = flags[0].label_in(language)
    return QuestionSummary(
        title=title.rsplit(":", 1)[0] if ":" in title else title,
        name=flags[0].group,
        multiple=True,
        shares=shares,
        answered=_shown(total.total.n, k),
        unanswered=_shown(total.missing, k),
    )


# What `_complete` selects, as the analytics store reads it: every complete response.
EVERYONE = Selection()


def _complete(survey: Survey) -> Any:
    return survey_responses(survey=survey, status=Response.Status.COMPLETE)


def question_summaries(
    *, survey: Survey, language: str, suppress: bool = True
) -> list[QuestionSummary]:
    """A frequency table for every closed question (choices, scales, yes/no, matrix rows)."""
    # In questionnaire order: a single variable, or the flags of one multiple-choice question.
    items: dict[Any, SurveyVariable | list[SurveyVariable]] = {}
    for variable in survey_variables(survey=survey, derived=False):
        origin = variable.source[0] if variable.source else ""
        if origin == "answer" and variable.kind == "categorical" and variable.value_labels:
            items[variable.name] = variable
        elif origin == "flag":
            flags = items.setdefault(("flag", variable.source[1]), [])
            if isinstance(flags, list):
                flags.append(variable)
    return [
        _multiple(survey, item, language, suppress)
        if isinstance(item, list)
        else _single(survey, item, language, suppress)
        for item in items.values()
    ]


def classifier_shares(
    *, survey: Survey, language: str, suppress: bool = True
) -> list[ClassifierShares]:
    """Each single-label coding's category shares, split by review status (auto, to review, ...)."""
    derived = {v.name: v for v in derived_variables(survey=survey)}
    out = []
    for variable in derived.values():
        review = derived.get(f"{variable.name}_review")
        if variable.kind != "categorical" or review is None:
            continue
        out.append(_shares(survey, variable, review, language, suppress))
    return out


def _shares(
    survey: Survey,
    variable: SurveyVariable,
    review: SurveyVariable,
    language: str,
    suppress: bool,
) -> ClassifierShares:
    k = survey.min_cell_size
    counts: Counter[tuple[str | None, str | None]] = Counter()
    for (code, status), n in grouped_counts(
        survey=survey, responses=_complete(survey), variables=[variable, review]
    ):
        counts[code, status] += n
    codes, statuses = list(variable.value_labels), list(review.value_labels)
    table = _crosstab(counts, codes, statuses, k=k, suppress=suppress)
    return ClassifierShares(
        title=variable.label_in(language),
        statuses=[review.value_label(status, language) for status in statuses],
        rows=[
            StatusRow(
                label=variable.value_label(code, language),
                cells=[_shown(cell.n, k) for cell in line],
                total=_shown(total.n, k),
                percent=total.percent,
            )
            for code, line, total in zip(codes, table.cells, table.row_totals, strict=True)
        ],
        total=_shown(table.total.n, k),
        uncoded=_shown(table.missing, k),
    )
