"""Statistics against independent implementations (statsmodels, scipy) on service-built data."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from surveys.models import Choice, Response, Survey
from tests.api.conftest import build_population, make_people
from tests.api.helpers import API, CROSS, token_client
from tests.conftest import DEFAULT_SURVEY

Person = dict[str, Any]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, default_definition_module):  # type: ignore[no-untyped-def]
    """Survey, users and population built once for this module, inside a transaction.

    Each test runs in a savepoint within it (the `db` fixture), so what a test changes is undone
    after it, and the whole transaction is rolled back when the module ends.
    """
    from surveys.definitions.transfer import survey_import

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            survey = survey_import(definition=default_definition_module)
            people = make_people(survey)
            population = build_population(survey)
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    yield {"survey": survey, "people": people, "population": population}
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


@pytest.fixture(scope="module")
def default_definition_module() -> dict[str, Any]:
    return json.loads(DEFAULT_SURVEY.read_text(encoding="utf-8"))


@pytest.fixture
def default_survey(db, world) -> Survey:  # type: ignore[no-untyped-def]
    return Survey.objects.get(pk=world["survey"].pk)


@pytest.fixture
def populated(db, world) -> list[Person]:  # type: ignore[no-untyped-def]
    return world["population"]


@pytest.fixture
def owner_client(db, world) -> APIClient:  # type: ignore[no-untyped-def]
    return token_client(world["people"].owner)


def _get(client, survey: Survey, query: str) -> dict[str, Any]:
    response = client.get(f"{API}/surveys/{survey.slug}/statistics/?{query}")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/json"
    return response.json()


def _flag(tool: str) -> Callable[[Person], str | None]:
    def value(p: Person) -> str | None:
        tools = p["answers"].get("tools_used")
        return None if tools is None else ("1" if tool in tools else "0")

    return value


TRUTH: dict[str, Callable[[Person], str | None]] = {
    "employment_type": lambda p: p["answers"]["employment_type"],
    "country": lambda p: p["answers"]["country"],
    "lost_work": lambda p: "1" if p["answers"]["lost_work"] else "0",
    "tools_used_runway": _flag("runway"),
    "tools_used_kling": _flag("kling"),
    "exposure_matrix_rates_fallen": lambda p: p["answers"]["exposure_matrix"]["rates_fallen"],
    # "na" (not applicable) is a missing code of the question: a missing value, not a category.
    "outlook_5y": lambda p: (
        None if p["answers"]["outlook_5y"] == "na" else p["answers"]["outlook_5y"]
    ),
    "cls_change_text_displacement_risk": lambda p: p["displacement"],
    "language": lambda p: p["language"],
}


def _wilson(count: float, nobs: float) -> tuple[float, float]:
    low, high = proportion_confint(count, nobs, alpha=0.05, method="wilson")
    return 100 * low, 100 * high


def _check_one_way(table: dict[str, Any], truth: list[str | None], k: int) -> None:
    counts = Counter(v for v in truth if v is not None)
    total = sum(counts.values())
    cells = {cell["code"]: cell for cell in table["cells"]}
    assert set(counts) <= set(cells)
    primary = 0
    for code, cell in cells.items():
        c = counts.get(code, 0)
        if 0 < c < k:
            primary += 1
            assert cell["suppressed"], (code, c)
        if cell["suppressed"]:
            assert cell["n"] is None and cell["percent"] is None and cell["ci"] is None
            assert c > 0  # zeros are never hidden
            continue
        assert cell["n"] == c
        if table["total"]["suppressed"]:
            # count / percent would give the hidden total back
            assert cell["percent"] is None and cell["ci"] is None
            continue
        assert cell["percent"] == pytest.approx(100 * c / total)
        assert cell["ci"] == pytest.approx(list(_wilson(c, total)))
        assert [cell["ci_low"], cell["ci_high"]] == cell["ci"]
    hidden = sum(cell["suppressed"] for cell in cells.values())
    if primary == 1 and not table["total"]["suppressed"]:
        assert hidden >= 2  # a lone small cell would follow from the total
    missing = sum(v is None for v in truth)
    if 0 < missing < k:
        assert table["missing"] is None and table["missing_suppressed"]
    else:
        assert table["missing"] == missing


def test_frequency_tables_match_statsmodels(populated, owner_client, default_survey):
    # Choice, yes/no, multiple-choice flags, matrix row, Likert, country, classification category
    # and a response attribute: every kind of categorical variable, one population.
    for variable, value in TRUTH.items():
        data = _get(owner_client, default_survey, f"variable={variable}")
        truth = [value(p) for p in populated]
        assert data["k"] == 10 and data["table"]["kind"] == "frequency"
        assert data["variable"]["name"] == variable and data["variable"]["label"]
        assert not data["weighted"]
        _check_one_way(data["table"], truth, 10)
        if data["n"] is not None:
            assert data["n"] == len(populated)  # the unfinished response is left out


def test_missing_codes_are_reported_as_missing_not_as_categories(
    populated, owner_client, default_survey
):
    not_applicable = sum(p["answers"]["outlook_5y"] == "na" for p in populated)
    assert not_applicable >= 5
    Survey.objects.filter(pk=default_survey.pk).update(min_cell_size=5)
    data = _get(owner_client, default_survey, "variable=outlook_5y&k=5")
    assert data["variable"]["missing_codes"] == ["na"]
    table = data["table"]
    assert "na" not in table["categories"]
    assert "na" not in {cell["code"] for cell in table["cells"]}
    assert table["missing"] == not_applicable
    assert table["total"]["n"] == len(populated) - not_applicable
    crossed = _get(owner_client, default_survey, "variable=lost_work&by=outlook_5y&k=5")
    assert "na" not in crossed["table"]["row_categories"]
    assert crossed["table"]["missing"] == not_applicable
    means = _get(owner_client, default_survey, "variable=years_experience&stat=mean&by=outlook_5y")
    assert "na" not in {group["code"] for group in means["table"]["groups"]}


def test_frequency_labels_and_suppression_visible(populated, owner_client, default_survey):
    data = _get(owner_client, default_survey, "variable=employment_type&lang=zh-hans")
    cells = {cell["code"]: cell for cell in data["table"]["cells"]}
    # agency (3) and mixed (6) are below k = 10; "other" has nobody and stays a published zero.
    assert cells["agency"]["suppressed"] and cells["mixed"]["suppressed"]
    assert cells["other"] == {**cells["other"], "n": 0, "suppressed": False}
    staff = Choice.objects.get(
        question__survey=default_survey, question__code="employment_type", code="staff"
    )
    assert cells["staff"]["label"] == staff.label["zh-hans"]
    assert data["variable"]["value_labels"]["staff"] == cells["staff"]["label"]
    assert data["lang"] == "zh-hans"
    # Countries: hundreds of labels, so only those present are listed, in label order.
    countries = _get(owner_client, default_survey, "variable=country")["table"]["categories"]
    assert sorted(countries) == ["CN", "DE", "FR", "GB", "US"]


def test_crosstab_matches_statsmodels_with_complementary_suppression(
    populated, owner_client, default_survey
):
    data = _get(owner_client, default_survey, "variable=employment_type&by=lost_work")
    table = data["table"]
    assert table["kind"] == "crosstab"
    assert table["row_variable"] == "lost_work" and table["col_variable"] == "employment_type"
    k = data["k"]
    x = {(row, col): 0 for row in table["row_categories"] for col in table["col_categories"]}
    for (lost, employment), n in CROSS.items():
        x["1" if lost else "0", employment] = n
    row_n = Counter()
    col_n = Counter()
    for (row, col), n in x.items():
        row_n[row] += n
        col_n[col] += n
    complementary = _assert_published_cells(table, x, row_n, col_n, k)
    assert complementary >= 1  # some cell of at least k is hidden to protect a small one
    _assert_no_line_gives_a_cell_away(table)
    for total, key in ((table["col_totals"], "col"),):
        for entry in total:
            if not entry["suppressed"]:
                assert entry["n"] == col_n[entry[key]]


def _assert_published_cells(
    table: dict[str, Any],
    x: dict[tuple[str, str], int],
    row_n: Counter[str],
    col_n: Counter[str],
    k: int,
) -> int:
    """Each cell is hidden when small, else its count and shares are right; the hidden of >= k."""
    complementary = 0
    for line in table["cells"]:
        for cell in line:
            c = x[cell["row"], cell["col"]]
            if 0 < c < k:
                assert cell["suppressed"]
            if cell["suppressed"]:
                assert cell["n"] is None and cell["percent"] is None and c > 0
                complementary += c >= k
                continue
            assert cell["n"] == c
            row_total = table["row_totals"][table["row_categories"].index(cell["row"])]
            if row_total["suppressed"]:
                assert cell["percent"] is None
            else:
                assert cell["percent"] == pytest.approx(100 * c / row_n[cell["row"]])
                assert cell["ci"] == pytest.approx(list(_wilson(c, row_n[cell["row"]])))
            column = table["col_totals"][table["col_categories"].index(cell["col"])]
            if col_n[cell["col"]] == 0 or column["suppressed"]:
                assert cell["col_percent"] is None
            else:
                assert cell["col_percent"] == pytest.approx(100 * c / col_n[cell["col"]])
    return complementary


def _assert_no_line_gives_a_cell_away(table: dict[str, Any]) -> None:
    """No published line gives a hidden cell away by subtraction."""
    for i, line in enumerate(table["cells"]):
        if not table["row_totals"][i]["suppressed"]:
            assert sum(cell["suppressed"] for cell in line) != 1
    for j in range(len(table["col_categories"])):
        if not table["col_totals"][j]["suppressed"]:
            assert sum(line[j]["suppressed"] for line in table["cells"]) != 1
    for totals in (table["row_totals"], table["col_totals"]):
        if not table["total"]["suppressed"]:
            assert sum(t["suppressed"] for t in totals) != 1


def test_crosstab_of_classification_by_flag(populated, owner_client, default_survey):
    data = _get(
        owner_client,
        default_survey,
        "variable=cls_change_text_displacement_risk&by=tools_used_runway&k=5",
    )
    table = data["table"]
    assert data["k"] == 10 and data["k_requested"] == 5 and "raised to 10" in data["k_note"]
    truth = Counter(
        (_flag("runway")(p), p["displacement"])
        for p in populated
        if _flag("runway")(p) is not None and p["displacement"] is not None
    )
    for line in table["cells"]:
        for cell in line:
            if not cell["suppressed"]:
                assert cell["n"] == truth[cell["row"], cell["col"]]


def _means_truth(populated: list[Person], value: Callable[[Person], float | None]) -> list[float]:
    return [v for v in (value(p) for p in populated) if v is not None]


def _t_interval(values: list[float]) -> tuple[float, float, float]:
    y = np.asarray(values)
    mean, sd, n = y.mean(), y.std(ddof=1), len(y)
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def _years(p: Person) -> float | None:
    raw = p["answers"].get("years_experience")
    return None if raw is None else float(raw)


def _outlook(p: Person) -> float | None:
    code = p["answers"]["outlook_5y"]
    return None if code == "na" else float(code)


@pytest.mark.parametrize(
    ("variable", "value"), [("years_experience", _years), ("outlook_5y", _outlook)]
)
def test_means_match_scipy(populated, owner_client, default_survey, variable, value):
    data = _get(owner_client, default_survey, f"variable={variable}&stat=mean")
    overall = data["table"]["overall"]
    mean, low, high = _t_interval(_means_truth(populated, value))
    assert overall["mean"] == pytest.approx(mean)
    assert overall["ci"] == pytest.approx([low, high])
    assert overall["n"] == len(_means_truth(populated, value))


def test_means_by_group_suppress_small_groups(populated, owner_client, default_survey):
    data = _get(
        owner_client, default_survey, "variable=years_experience&stat=mean&by=employment_type"
    )
    groups = {g["code"]: g for g in data["table"]["groups"]}
    for code, group in groups.items():
        values = _means_truth(
            [p for p in populated if p["answers"]["employment_type"] == code], _years
        )
        if not values:
            assert group["n"] == 0 and group["mean"] is None and group["ci"] is None
        elif len(values) < 10:
            assert group["suppressed"] and group["mean"] is None and group["n"] is None
        elif group["suppressed"]:
            assert len(values) > 0
        else:
            mean, low, high = _t_interval(values)
            assert group["mean"] == pytest.approx(mean)
            assert group["ci"] == pytest.approx([low, high])
    assert groups["agency"]["suppressed"] and groups["mixed"]["suppressed"]
    assert not groups["staff"]["suppressed"]


def test_weighted_shares_match_an_independent_computation(populated, owner_client, default_survey):
    data = _get(
        owner_client,
        default_survey,
        "variable=employment_type&weights=language&targets=en:0.5,zh-hans:0.5",
    )
    assert data["weighted"] and data["table"]["weighted"]
    assert data["weighting"]["variable"] == "language"
    sample = Counter(p["language"] for p in populated)
    n = len(populated)
    weight = {lang: 0.5 / (count / n) for lang, count in sample.items()}
    w = np.asarray([weight[p["language"]] for p in populated])
    kish = w.sum() ** 2 / (w**2).sum()
    for cell in data["table"]["cells"]:
        if cell["suppressed"]:
            continue
        members = np.asarray([p["answers"]["employment_type"] == cell["code"] for p in populated])
        share = w[members].sum() / w.sum()
        assert cell["n"] == members.sum()
        assert cell["weighted_n"] == pytest.approx(w[members].sum())
        assert cell["percent"] == pytest.approx(100 * share)
        if share > 0:
            assert cell["ci"] == pytest.approx(list(_wilson(share * kish, kish)))


def test_weighted_mean_is_the_ratio_estimate(populated, owner_client, default_survey):
    data = _get(
        owner_client,
        default_survey,
        "variable=years_experience&stat=mean&weights=lost_work&targets=1:0.3,0:0.7",
    )
    sample = Counter(p["answers"]["lost_work"] for p in populated)
    n = len(populated)
    share = {True: 0.3, False: 0.7}
    pairs = [
        (_years(p), share[p["answers"]["lost_work"]] * n / sample[p["answers"]["lost_work"]])
        for p in populated
    ]
    y = np.asarray([v for v, _ in pairs if v is not None])
    w = np.asarray([wt for v, wt in pairs if v is not None])
    assert data["table"]["overall"]["mean"] == pytest.approx(np.dot(y, w) / w.sum())
    assert data["table"]["overall"]["weighted"] is True


def test_filters_dates_language_and_status(populated, owner_client, default_survey):
    def counts(query: str, predicate: Callable[[Person], bool]) -> None:
        data = _get(owner_client, default_survey, f"variable=employment_type&k=5&{query}")
        truth = [p["answers"]["employment_type"] for p in populated if predicate(p)]
        _check_one_way(data["table"], truth, data["k"])

    counts("filter=country:CN", lambda p: p["answers"]["country"] == "CN")
    counts(
        "filter=country:CN&filter=country:US",
        lambda p: p["answers"]["country"] in {"CN", "US"},
    )
    counts(
        "filter=country:US&filter=lost_work:1",
        lambda p: p["answers"]["country"] == "US" and p["answers"]["lost_work"],
    )
    counts("filter=tools_used_runway:1", lambda p: _flag("runway")(p) == "1")
    counts("filter=tools_used_kling:0", lambda p: _flag("kling")(p) == "0")
    counts(
        "filter=tools_used_kling:0&filter=tools_used_kling:1&filter=lost_work:1",
        lambda p: _flag("kling")(p) is not None and p["answers"]["lost_work"],
    )
    counts(
        "filter=cls_change_text_displacement_risk:augmentation",
        lambda p: p["displacement"] == "augmentation",
    )
    counts("language=zh-hans", lambda p: p["language"] == "zh-hans")
    data = _get(owner_client, default_survey, "variable=employment_type&filter=country:CN")
    assert data["filters"]["filter"] == [{"variable": "country", "code": "CN", "label": "China"}]

    everyone = _get(owner_client, default_survey, "variable=employment_type&status=all")
    assert everyone["filters"]["status"] == "all"
    other = next(c for c in everyone["table"]["cells"] if c["code"] == "other")
    assert other["suppressed"]  # the one unfinished respondent, now counted, and alone

    # Twenty responses submitted in January 2024; dates bound the submission day inclusively.
    early = [p["response"].pk for p in populated[:20]]
    moment = datetime(2024, 1, 31, 23, 59, tzinfo=UTC)
    Response.objects.filter(pk__in=early).update(submitted_at=moment)
    january = _get(owner_client, default_survey, "variable=language&from=2024-01-01&to=2024-01-31")
    assert january["n"] == 20
    assert january["filters"]["from"] == "2024-01-01"
    later = _get(owner_client, default_survey, "variable=language&from=2024-02-01")
    assert later["n"] == len(populated) - 20


def test_k_from_request_and_survey(populated, owner_client, default_survey):
    data = _get(owner_client, default_survey, "variable=employment_type&k=25")
    assert data["k"] == 25 and data["k_note"] == ""
    cells = {c["code"]: c for c in data["table"]["cells"]}
    assert cells["freelance"]["suppressed"]  # 24 < 25
    Survey.objects.filter(pk=default_survey.pk).update(min_cell_size=30)
    data = _get(owner_client, default_survey, "variable=employment_type&k=25")
    assert data["k"] == 30 and "raised to 30" in data["k_note"]
    assert all(c["suppressed"] or c["n"] == 0 for c in data["table"]["cells"])


def test_small_selection_hides_n(populated, owner_client, default_survey):
    data = _get(owner_client, default_survey, "variable=employment_type&filter=country:FR")
    assert data["n"] is None and data["n_suppressed"]
    assert data["table"]["total"]["suppressed"]


def test_public_statistics_for_anonymous(populated, default_survey):
    Survey.objects.filter(pk=default_survey.pk).update(public_statistics=True)
    data = _get(token_client(address="203.0.113.9"), default_survey, "variable=lost_work")
    truth = [TRUTH["lost_work"](p) for p in populated]
    _check_one_way(data["table"], truth, 10)


def test_unweighted_counts_are_grouped_in_sql(populated, owner_client, default_survey):
    url = f"{API}/surveys/{default_survey.slug}/statistics/"
    query = {"variable": "employment_type", "by": "lost_work", "filter": "country:CN"}
    with CaptureQueriesContext(connection) as queries:
        assert owner_client.get(url, query).status_code == 200
    grouped = [q["sql"] for q in queries.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 1 and "LEFT OUTER JOIN" in grouped[0]
    # No query reads answers row by row: each one that touches them is a subquery or the count.
    for sql in (q["sql"] for q in queries.captured_queries):
        assert not sql.startswith('SELECT "surveys_answer"'), sql


def test_weighted_counts_are_grouped_in_sql_too(populated, owner_client, default_survey):
    url = f"{API}/surveys/{default_survey.slug}/statistics/"
    query = {
        "variable": "employment_type",
        "by": "lost_work",
        "filter": ["country:CN", "country:US"],
        "weights": "language",
        "targets": "en:0.5,zh-hans:0.5",
    }
    with CaptureQueriesContext(connection) as queries:
        response = owner_client.get(url, query)
    assert response.status_code == 200 and response.json()["weighted"]
    grouped = [q["sql"] for q in queries.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 1 and grouped[0].count("LEFT OUTER JOIN") == 2
    for sql in (q["sql"] for q in queries.captured_queries):
        assert not sql.startswith('SELECT "surveys_answer"'), sql
        assert not sql.startswith('SELECT "surveys_response"."id", "surveys_response"'), sql


# Tables the API builds from respondents counted per cell (in SQL where it can), each against the
# same statistics computed the per-respondent way: every response's values read one by one.
PER_CELL_QUERIES = [
    "variable=employment_type&by=lost_work&k=5",
    "variable=exposure_matrix_rates_fallen&by=employment_type&filter=lost_work:1&k=5",
    "variable=exposure_matrix_rates_fallen&by=country&filter=country:US&filter=country:CN",
    "variable=employment_type&by=lost_work&weights=language&targets=en:0.5,zh-hans:0.5&k=5",
    "variable=lost_work&by=country&weights=lost_work&targets=1:0.3,0:0.7&filter=country:US",
    "variable=employment_type&weights=tools_used_runway&targets=1:0.4,0:0.6&k=5",
    "variable=tools_used_runway&by=employment_type&weights=language&targets=en:0.6,zh-hans:0.4",
    "variable=cls_change_text_displacement_risk&by=language&status=all&k=5",
    "variable=outlook_5y&by=employment_type&k=5",
    "variable=employment_type&by=outlook_5y&weights=language&targets=en:0.5,zh-hans:0.5&k=5",
]


def _code(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


@pytest.mark.parametrize("query", PER_CELL_QUERIES)
def test_counted_tables_equal_the_per_respondent_computation(
    populated, owner_client, default_survey, query
):
    from urllib.parse import parse_qs

    from surveys.statistics import estimators, tables
    from surveys.statistics.requests import statistics_request_build
    from surveys.statistics.selectors import statistics_responses
    from surveys.variables.reader import response_rows

    data = _get(owner_client, default_survey, query)
    params = parse_qs(query)
    targets = None
    if "targets" in params:
        pairs = (item.split(":") for item in params["targets"][0].split(","))
        targets = {code: float(share) for code, share in pairs}
    request = statistics_request_build(
        survey=default_survey,
        variable=params["variable"][0],
        by=params.get("by", [None])[0],
        status=params.get("status", ["complete"])[0],
        filters=[tuple(f.split(":")) for f in params.get("filter", [])],
        weights=params.get("weights", [None])[0],
        targets=targets,
        k=int(params["k"][0]) if "k" in params else None,
    )
    wanted = [v for v in (request.variable, request.by, request.weights) if v is not None]
    # One read per distinct variable (a table may be weighted by its own variable).
    distinct = list({v.name: v for v in wanted}.values())
    rows = []
    for _, values in response_rows(
        survey=default_survey, variables=distinct, responses=statistics_responses(request=request)
    ):
        value_of = {v.name: _code(value) for v, value in zip(distinct, values, strict=True)}
        row = [value_of[v.name] for v in wanted]
        # Don't know / not applicable answers of the summarised variables are missing values.
        for position, variable in enumerate([request.variable, request.by]):
            if variable is not None and row[position] in variable.missing:
                row[position] = None
        rows.append(row)
    assert data["n"] == (None if data["n_suppressed"] else len(rows))
    weights = None
    if request.weights is not None:
        kept = [row for row in rows if row[-1] is not None]
        excluded = len(rows) - len(kept)
        hidden = 0 < excluded < data["k"]
        assert data["weighting"]["excluded"] == (None if hidden else excluded)
        assert data["weighting"]["excluded_suppressed"] == hidden
        weights = estimators.poststratification_weights([row[-1] for row in kept], targets or {})
        rows = kept
    table = data["table"]
    if request.by is None:
        expected = tables.frequency_table(
            [row[0] for row in rows], weights=weights, categories=table["categories"], k=data["k"]
        ).as_dict()
    else:
        expected = tables.crosstab(
            [row[1] for row in rows],
            [row[0] for row in rows],
            weights=weights,
            row_categories=table["row_categories"],
            col_categories=table["col_categories"],
            k=data["k"],
        ).as_dict()
    _assert_same(table, expected, "table")


def _assert_same(ours: Any, theirs: Any, where: str) -> None:
    """ours equals theirs, floats to 1e-9 relative, walking dicts and lists; `where` on failure."""
    if isinstance(theirs, dict):
        for key, value in theirs.items():
            _assert_same(ours[key], value, f"{where}.{key}")
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs), where
        for position, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            _assert_same(a, b, f"{where}[{position}]")
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=1e-9), where
    else:
        assert ours == theirs, where


STORE_QUERIES = [
    *PER_CELL_QUERIES,
    "variable=employment_type&by=country&filter=country:US&filter=lost_work:1&from=2024-01-01",
    "variable=exposure_matrix_rates_fallen&by=country&filter=tools_used_kling:0&language=zh-hans",
    "variable=employment_type&by=status&filter=language:en",
    "variable=tools_used_kling&by=outlook_5y&to=2020-01-01",
]


@pytest.mark.parametrize("query", STORE_QUERIES)
def test_tables_read_from_the_analytics_store_equal_those_read_from_the_answers(
    populated, owner_client, default_survey, query
):
    from surveys.analytics.services import analytics_rebuild

    Survey.objects.filter(pk=default_survey.pk).update(public_statistics=True)
    clients = {"owner": owner_client, "anonymous": token_client(address="203.0.113.7")}
    url = f"{API}/surveys/{default_survey.slug}/statistics/?{query}"

    def answer(client: APIClient) -> tuple[int, Any, bool]:
        with CaptureQueriesContext(connection) as queries:
            result = client.get(url)
        read = any(table in q["sql"] for q in queries.captured_queries)
        return result.status_code, result.json(), read

    table = f"surveys_analytics_{default_survey.pk}"
    before = {name: answer(client) for name, client in clients.items()}
    assert before["owner"][0] == 200
    analytics_rebuild(survey=default_survey)
    after = {name: answer(client) for name, client in clients.items()}
    for name in clients:
        assert after[name][:2] == before[name][:2]
        assert not before[name][2]
    # Only complete responses and the survey's own variables are in the store.
    stored = "status=all" not in query and "cls_" not in query
    assert after["owner"][2] == stored
    if after["anonymous"][0] == 200:  # published under the rules: counted there too
        assert after["anonymous"][2] == stored
