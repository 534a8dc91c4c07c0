"""Read-only figures of a survey's researcher dashboard, as plain data for the admin template.

Respondents are counted by category through `selectors.grouped_counts`, the code path of the
statistics API (grouped in SQL where the variables allow it), and tables go through
`statistics.tables` with the survey's `min_cell_size`, so the dashboard never shows a count its
published statistics would hide. For a role that may not read the raw responses (exact=False)
the dashboard follows the API's rules for such callers (`differencing`): only complete
responses are counted, no timeline by day or week, and the tables get the population line and
the hidden zeros of `protect_crosstab` and `protect_frequency`.
"""

from __future__ import annotations

import statistics as pystats
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncDate

from surveys import reference
from surveys.core.i18n import translate
from surveys.models import Question, Response, Survey, time_spent
from surveys.statistics.differencing import Guard, protect_crosstab, protect_frequency
from surveys.statistics.exposure import exposure_compare, exposure_questions
from surveys.statistics.internal import crosstab_unsuppressed, frequency_table_unsuppressed
from surveys.statistics.published import Cell, Total
from surveys.statistics.requests import StatisticsInputError
from surveys.statistics.selectors import grouped_counts
from surveys.statistics.summaries import (
    ClassifierShares,
    QuestionSummary,
    classifier_shares,
    question_summaries,
)
from surveys.statistics.tables import (
    crosstab_from_counts,
    frequency_table_from_counts,
)
from surveys.variables.catalogue import (
    SurveyVariable,
    derived_variables,
    provider_estimates,
    survey_variables,
)
from surveys.variables.sources import survey_responses

OTHER_GROUP = {"en": "Other", "zh-hans": "其他"}
# The dashboard's tables cover every complete response: one atom, no window or filter.
_WHOLE = Guard(unsafe=frozenset())
_MAX_DAILY_BARS = 92  # beyond about three months, bars are per week


@dataclass(frozen=True)
class Period:
    start: date
    started: int
    completed: int


@dataclass(frozen=True)
class Timeline:
    unit: str  # "day" or "week"
    periods: list[Period]
    peak: int


@dataclass(frozen=True)
class Completion:
    # None where a role without raw access is not shown the figure.
    started: int | None
    in_progress: int | None
    complete: int | None
    rate: float | None  # percent of started responses that were submitted
    median_seconds: float | None
    timed: int | None  # complete responses with page timings


@dataclass(frozen=True)
class Segment:
    """One category's share of a row (None when suppressed or not computable)."""

    code: str
    label: str
    index: int
    percent: float | None
    offset: float = 0.0


@dataclass(frozen=True)
class CrossRow:
    label: str
    cells: list[str]  # published counts, or "<k" when suppressed
    total: str
    segments: list[Segment]
    hidden_share: float  # the share of the row held by suppressed cells (derivable, so shown)
    hidden_offset: float = 0.0


@dataclass(frozen=True)
class CrossView:
    title: str
    columns: list[tuple[str, str]]  # (code, label)
    rows: list[CrossRow]
    column_totals: list[str]
    total: str
    missing: str
    k: int
    variable: str = ""


@dataclass(frozen=True)
class ConcernBar:
    code: str
    label: str
    count: str  # the published count or "<k"
    percent: float | None
    suppressed: bool


@dataclass(frozen=True)
class ConcernView:
    title: str
    coded: int
    bars: list[ConcernBar]
    k: int
    group: str = ""


@dataclass(frozen=True)
class Dashboard:
    survey: Survey
    language: str
    completion: Completion
    timeline: Timeline
    risk_choices: list[tuple[str, str]]
    risk: CrossView | None
    concern_choices: list[tuple[str, str]]
    concerns: ConcernView | None
    notes: list[str] = field(default_factory=list)
    questions: list[QuestionSummary] = field(default_factory=list)
    classifier: list[ClassifierShares] = field(default_factory=list)
    suppressed: bool = True  # False: the internal view of owners and editors, every count shown
    audited: list[AuditedShares] = field(default_factory=list)
    # Respondents' task exposure per occupation beside the reference (statistics.exposure).
    exposure: dict[str, Any] | None = None


@dataclass(frozen=True)
class ShareRow:
    label: str
    ppi: str  # "12% (8–17%)" or "—" while the audit has too few human codes
    naive: str


@dataclass(frozen=True)
class AuditedShares:
    """A coded variable's category shares corrected by its audit (PPI), beside the naive ones."""

    title: str
    status: str
    audit: dict[str, Any]
    rows: list[ShareRow]


# --- variables ------------------------------------------------------------------------------------


def risk_candidates(*, survey: Survey) -> list[SurveyVariable]:
    """Single-category derived variables, those naming displacement first."""
    candidates = [v for v in derived_variables(survey=survey) if v.kind == "categorical"]
    return sorted(
        candidates,
        key=lambda v: ("displacement" not in v.name, v.name.endswith("_review")),
    )


def concern_groups(*, survey: Survey) -> dict[str, list[SurveyVariable]]:
    """Multi-category derived variables by group ({group: flag variables}), concerns first."""
    groups: dict[str, list[SurveyVariable]] = {}
    for variable in derived_variables(survey=survey):
        if variable.kind == "multi_flag":
            groups.setdefault(variable.group, []).append(variable)
    return dict(sorted(groups.items(), key=lambda item: "concern" not in item[0]))


def _group_label(variables: list[SurveyVariable], language: str) -> str:
    label = variables[0].label_in(language)
    return label.rsplit(":", 1)[0] if ":" in label else label


# --- pieces ---------------------------------------------------------------------------------------


def survey_completion(*, survey: Survey) -> Completion:
    """How many responses were started and submitted, and the median time of submitted ones."""
    counts = dict(
        survey.responses.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    complete = counts.get(Response.Status.COMPLETE, 0)
    in_progress = counts.get(Response.Status.IN_PROGRESS, 0)
    started = complete + in_progress
    # The median needs each duration; only the timings column is read, not the responses.
    timings = survey.responses.filter(status=Response.Status.COMPLETE).values_list(
        "page_seconds", flat=True
    )
    durations = [seconds for seconds in map(time_spent, timings) if seconds is not None]
    return Completion(
        started=started,
        in_progress=in_progress,
        complete=complete,
        rate=100 * complete / started if started else None,
        median_seconds=float(pystats.median(durations)) if durations else None,
        timed=len(durations),
    )


def survey_timeline(*, survey: Survey) -> Timeline:
    """Responses started and submitted per day (per week for surveys running longer)."""
    started = Counter(
        dict(
            survey.responses.annotate(day=TruncDate("started_at"))
            .values_list("day")
            .annotate(n=Count("pk"))
            .values_list("day", "n")
        )
    )
    completed = Counter(
        dict(
            survey.responses.filter(submitted_at__isnull=False)
            .annotate(day=TruncDate("submitted_at"))
            .values_list("day")
            .annotate(n=Count("pk"))
            .values_list("day", "n")
        )
    )
    days = sorted(set(started) | set(completed))
    if not days:
        return Timeline("day", [], 0)
    first, last = days[0], days[-1]
    span = (last - first).days + 1
    step = 1 if span <= _MAX_DAILY_BARS else 7
    if step == 7:
        first -= timedelta(days=first.weekday())
    periods = []
    cursor = first
    while cursor <= last:
        window = [cursor + timedelta(days=offset) for offset in range(step)]
        periods.append(
            Period(
                start=cursor,
                started=sum(started.get(day, 0) for day in window),
                completed=sum(completed.get(day, 0) for day in window),
            )
        )
        cursor += timedelta(days=step)
    peak = max(max(p.started, p.completed) for p in periods)
    return Timeline("day" if step == 1 else "week", periods, peak)


def _occupation_groups(language: str) -> dict[str, str]:
    groups = {o.isco: translate(o.group or OTHER_GROUP, language) for o in reference.occupations()}
    groups[reference.OTHER] = translate(OTHER_GROUP, language)
    return groups


def _shown(n: int | None, k: int) -> str:
    return f"<{k}" if n is None else f"{n:,}"


def _cross_row(
    label: str,
    line: tuple[Cell, ...],
    total: Total,
    *,
    variable: SurveyVariable,
    codes: list[str],
    language: str,
    k: int,
) -> CrossRow:
    """One occupation group's row: published counts and the bar's segments."""
    segments = []
    offset = 0.0
    for index, (code, cell) in enumerate(zip(codes, line, strict=True)):
        percent = cell.percent if not cell.suppressed else None
        segments.append(Segment(code, variable.value_label(code, language), index, percent, offset))
        offset += percent or 0.0
    hidden = 0.0 if total.suppressed else max(0.0, 100.0 - offset)
    return CrossRow(
        label=label,
        cells=[_shown(cell.n, k) for cell in line],
        total=_shown(total.n, k),
        segments=segments,
        hidden_share=hidden if any(c.suppressed for c in line) else 0.0,
        hidden_offset=offset,
    )


def risk_by_occupation(
    *,
    survey: Survey,
    variable: SurveyVariable,
    language: str,
    suppress: bool = True,
    exact: bool = True,
) -> CrossView | None:
    """A cross-tab of occupation group by `variable`; disclosure control unless not `suppress`."""
    question = (
        Question.objects.filter(survey=survey, type=Question.Type.OCCUPATION)
        .order_by("page__position", "position")
        .first()
    )
    if question is None:
        return None
    occupation = next(
        v
        for v in survey_variables(survey=survey, derived=False)
        if v.source == ("answer", question.pk, "")
    )
    groups = _occupation_groups(language)
    counts: Counter[tuple[str | None, str | None]] = Counter()
    for (occ, value), n in grouped_counts(
        survey=survey,
        responses=survey_responses(survey=survey, status=Response.Status.COMPLETE),
        variables=[occupation, variable],
    ):
        group = groups.get(occ, groups[reference.OTHER]) if occ else None
        counts[group, value if value in variable.value_labels else None] += n
    k = survey.min_cell_size
    seen = {group for group, _value in counts}
    present = [g for g in dict.fromkeys(groups.values()) if g in seen]
    codes = list(variable.value_labels)
    if not suppress:
        table = crosstab_unsuppressed(counts, row_categories=present, col_categories=codes)
    elif exact:
        table = crosstab_from_counts(counts, row_categories=present, col_categories=codes, k=k)
    else:
        guarded = protect_crosstab(
            counts, row_categories=present, col_categories=codes, guard=_WHOLE, k=k
        )
        table = guarded.table  # type: ignore[assignment]
    rows = [
        _cross_row(label, line, total, variable=variable, codes=codes, language=language, k=k)
        for label, line, total in zip(present, table.cells, table.row_totals, strict=True)
    ]
    return CrossView(
        title=variable.label_in(language),
        columns=[(code, variable.value_label(code, language)) for code in codes],
        rows=rows,
        column_totals=[_shown(t.n, k) for t in table.col_totals],
        total=_shown(table.total.n, k),
        missing=_shown(table.missing, k),
        k=k,
        variable=variable.name,
    )


def concern_counts(
    *,
    survey: Survey,
    variables: list[SurveyVariable],
    language: str,
    suppress: bool = True,
    exact: bool = True,
) -> ConcernView:
    """How many coded responses name each category; counts under k suppressed if `suppress`."""
    k = survey.min_cell_size
    selected = [0] * len(variables)
    coded = 0
    for flags, n in grouped_counts(
        survey=survey,
        responses=survey_responses(survey=survey, status=Response.Status.COMPLETE),
        variables=variables,
    ):
        if all(flag is None for flag in flags):
            continue  # not coded at all: not among the respondents the bars describe
        coded += n
        for position, flag in enumerate(flags):
            if flag == "1":
                selected[position] += n
    bars = []
    for variable, chosen in zip(variables, selected, strict=True):
        both: dict[int | None, int] = {0: coded - chosen, 1: chosen}
        if not suppress:
            table = frequency_table_unsuppressed(both, categories=[0, 1])
        elif exact:
            table = frequency_table_from_counts(both, categories=[0, 1], k=k)
        else:
            table = protect_frequency(both, categories=[0, 1], guard=_WHOLE, k=k).table  # type: ignore[assignment]
        cell = table.cells[1]
        label = variable.label_in(language)
        label = label.rsplit(":", 1)[-1].strip() if ":" in label else label
        code = variable.source[-1] if variable.source else variable.name
        bars.append(
            ConcernBar(
                code=str(code),
                label=label,
                count=_shown(cell.n, k),
                percent=cell.percent,
                suppressed=cell.suppressed,
            )
        )
    bars.sort(key=lambda bar: (bar.suppressed, -(bar.percent or 0.0)))
    return ConcernView(
        title=_group_label(variables, language) if variables else "",
        coded=coded,
        bars=bars,
        k=k,
        group=variables[0].group if variables else "",
    )


def _concern_view(
    *,
    survey: Survey,
    groups: dict[str, list[SurveyVariable]],
    chosen: str | None,
    language: str,
    suppress: bool,
    exact: bool,
) -> ConcernView | None:
    if chosen in groups:
        return concern_counts(
            survey=survey,
            variables=groups[chosen],
            language=language,
            suppress=suppress,
            exact=exact,
        )
    view = None
    # The first group that holds codings (several questions may share one codebook).
    for variables in groups.values():
        view = concern_counts(
            survey=survey, variables=variables, language=language, suppress=suppress, exact=exact
        )
        if view.coded:
            break
    return view


def _percent(share: dict[str, Any]) -> str:
    if share.get("estimate") is None:
        return "—"
    return f"{share['estimate']:.0%} ({share['low']:.0%}–{share['high']:.0%})"


def audited_shares(
    *, survey: Survey, variables: list[SurveyVariable], language: str
) -> list[AuditedShares]:
    """Per coded variable (flags of one group merged): PPI shares and the naive auto-coded ones."""
    out: dict[str, AuditedShares] = {}
    for variable in variables:
        estimates = provider_estimates(survey, variable)
        if not estimates:
            continue
        title = variable.label_in(language).rsplit(":", 1)[0]
        view = out.setdefault(
            variable.group,
            AuditedShares(title, estimates["audit"]["status"], estimates["audit"], []),
        )
        for code, share in estimates["shares"].items():
            label = variable.value_label(code, language) if variable.kind == "categorical" else ""
            label = label or variable.label_in(language).rsplit(":", 1)[-1].strip()
            view.rows.append(ShareRow(label, _percent(share["ppi"]), _percent(share["naive"])))
    return list(out.values())


def _audited_variables(survey: Survey) -> list[SurveyVariable]:
    single = [v for v in risk_candidates(survey=survey) if not v.name.endswith("_review")]
    return single + [v for vs in concern_groups(survey=survey).values() for v in vs]


def _restricted_completion(survey: Survey) -> Completion:
    """Completion for a role without raw access: the number submitted, when at least k."""
    complete = survey.responses.filter(status=Response.Status.COMPLETE).count()
    shown = complete if complete == 0 or complete >= survey.min_cell_size else None
    return Completion(None, None, shown, None, None, None)


def survey_dashboard(
    *,
    survey: Survey,
    language: str,
    risk: str | None = None,
    concerns: str | None = None,
    suppress: bool = True,
    exact: bool = True,
) -> Dashboard:
    """Everything the dashboard shows; `risk` and `concerns` pick a variable and a group by name.

    `suppress=False` is the internal view for the survey's owners and editors: every count shown.
    `exact=False`: the figures a role without access to the raw responses may see (protected
    across queries, complete responses only).
    """
    candidates = risk_candidates(survey=survey)
    risk_variable = next((v for v in candidates if v.name == risk), None) or (
        candidates[0] if candidates else None
    )
    groups = concern_groups(survey=survey)
    notes = []
    if not candidates and not groups:
        notes.append("No classified free-text question: category charts appear once one exists.")
    if not exact:
        notes.append(
            "Figures follow the rules for roles without access to the raw responses: complete "
            "responses only, no timeline, small groups withheld."
        )
    return Dashboard(
        survey=survey,
        language=language,
        completion=survey_completion(survey=survey) if exact else _restricted_completion(survey),
        timeline=survey_timeline(survey=survey) if exact else Timeline("day", [], 0),
        risk_choices=[(v.name, v.label_in(language)) for v in candidates],
        risk=(
            risk_by_occupation(
                survey=survey,
                variable=risk_variable,
                language=language,
                suppress=suppress,
                exact=exact,
            )
            if risk_variable
            else None
        ),
        concern_choices=[(name, _group_label(vs, language)) for name, vs in groups.items()],
        concerns=_concern_view(
            survey=survey,
            groups=groups,
            chosen=concerns,
            language=language,
            suppress=suppress,
            exact=exact,
        ),
        notes=notes,
        suppressed=suppress,
        # Summaries not protected across queries: only for roles that may read the raw responses.
        **(_exact_sections(survey=survey, language=language, suppress=suppress) if exact else {}),
    )


def _exact_sections(*, survey: Survey, language: str, suppress: bool) -> dict[str, Any]:
    return {
        "questions": question_summaries(survey=survey, language=language, suppress=suppress),
        "classifier": classifier_shares(survey=survey, language=language, suppress=suppress),
        "audited": audited_shares(
            survey=survey, variables=_audited_variables(survey), language=language
        ),
        "exposure": survey_exposure(survey=survey, language=language),
    }


def survey_exposure(*, survey: Survey, language: str) -> dict[str, Any] | None:
    """The exposure table of the first task question, as the API computes it; None without one."""
    if not exposure_questions(survey=survey):
        return None
    try:
        return exposure_compare(survey=survey, lang=language, corrected=True)
    except StatisticsInputError:  # no occupation question: nothing to set beside the reference
        return None
