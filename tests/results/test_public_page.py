"""The public results page over HTTP: published or 404, both languages, CSV, the API's numbers."""

from __future__ import annotations

import csv
import io
import re
import uuid
from typing import Any

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from surveys.models import Survey
from tests.results.conftest import TABLES
from tests.results.pagefigures import Row, page_figures

API = "/api/v1/surveys/{slug}/statistics/"


def _key(spec: dict[str, str]) -> str:
    return f"{spec['variable']}-by-{spec['by']}" if spec.get("by") else spec["variable"]


def _api(survey: Survey, spec: dict[str, str], lang: str) -> dict[str, Any]:
    """The statistics API's answer to an anonymous caller for the same table."""
    answer = APIClient().get(API.format(slug=survey.slug), {**spec, "lang": lang})
    assert answer.status_code == 200, answer.content
    return answer.json()


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _interval(cell: dict[str, Any]) -> str:
    if cell["ci_low"] is None:
        return "—"
    return f"{cell['ci_low']:.1f}–{cell['ci_high']:.1f}%"


def _assert_cell(row: Row, cell: dict[str, Any]) -> None:
    if cell["suppressed"]:
        assert cell["n"] is None
        # Said to be suppressed, and no number at all in its place.
        assert all(not re.search(r"\d", text) for text in row.figures.values()), row
        return
    assert row.figures == {
        "n": str(cell["n"]),
        "percent": _share(cell["percent"]),
        "ci": _interval(cell),
    }


def _assert_count(row: Row, total: dict[str, Any] | None, n: int | None, hidden: bool) -> None:
    if hidden:
        assert n is None and not re.search(r"\d", row.figures["n"])
    else:
        assert row.figures["n"] == ("—" if n is None else str(n)), (row, total)


def _assert_table(rows: list[Row], values: list[str], answer: dict[str, Any]) -> None:
    table = answer["table"]
    by_keys = {tuple(sorted(row.keys.items())): row for row in rows}
    shares = []
    if table["kind"] == "frequency":
        cells = table["cells"]
        for cell in cells:
            _assert_cell(by_keys[(("data-code", str(cell["code"])),)], cell)
    else:
        cells = [cell for line in table["cells"] for cell in line]
        for cell in cells:
            _assert_cell(
                by_keys[(("data-code", str(cell["col"])), ("data-row", str(cell["row"])))], cell
            )
        for total in table["row_totals"]:
            row = by_keys[(("data-group", str(total["row"])),)]
            _assert_count(row, total, total["n"], total["suppressed"])
    for cell in cells:
        if not cell["suppressed"] and cell["percent"] is not None:
            shares.append(_share(cell["percent"]))
    assert values == shares  # the chart writes the table's shares, in its order
    total = table["total"]
    _assert_count(by_keys[(("data-total", "total"),)], total, total["n"], total["suppressed"])
    _assert_count(
        by_keys[(("data-total", "missing"),)], None, table["missing"], table["missing_suppressed"]
    )


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_every_number_on_the_page_is_the_apis(published, lang):
    page = Client().get(f"/results/{published.slug}/", {"lang": lang})
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<html lang="{lang}">' in html
    tables, values = page_figures(html)
    assert list(tables) == [_key(spec) for spec in TABLES]
    suppressed = 0
    for spec in TABLES:
        answer = _api(published, spec, lang)
        assert answer["disclosure"]["exact"] is False  # the anonymous caller's regime
        _assert_table(tables[_key(spec)], values[_key(spec)], answer)
        suppressed += sum(
            cell["suppressed"]
            for cell in (
                answer["table"]["cells"]
                if answer["table"]["kind"] == "frequency"
                else [c for line in answer["table"]["cells"] for c in line]
            )
        )
        if answer["n"] is not None:
            assert re.search(rf"\b{answer['n']}\b", html)
    assert suppressed > 0  # the population has small cells: the page must show some suppressed


def test_the_json_is_the_apis_answer(published):
    data = Client().get(f"/results/{published.slug}/data.json", {"lang": "zh-hans"}).json()
    assert [table["key"] for table in data["tables"]] == [_key(spec) for spec in TABLES]
    for spec, table in zip(TABLES, data["tables"], strict=True):
        assert table["statistics"] == _api(published, spec, "zh-hans")
    lost = data["tables"][0]
    assert lost["source"] == {
        "question": "lost_work",
        "row": None,
        "choice": None,
        "boolean": True,
    }
    matrix = data["tables"][5]["source"]
    assert (matrix["question"], matrix["row"]) == ("exposure_matrix", "rates_fallen")
    assert data["tables"][4]["source"]["choice"] == "runway"


def test_a_raw_reader_still_sees_the_anonymous_figures(published, django_user_model):
    """Signed in as the owner, the page shows what everyone sees, not the exact figures."""
    from surveys.models import SurveyRole

    owner = django_user_model.objects.create_user("results-owner", password="x" * 20)
    SurveyRole.objects.create(survey=published, user=owner, role="owner")
    client = Client()
    client.force_login(owner)
    tables, values = page_figures(client.get(f"/results/{published.slug}/").content.decode())
    spec = {"variable": "lost_work", "by": "employment_type"}
    _assert_table(tables[_key(spec)], values[_key(spec)], _api(published, spec, "en"))


@pytest.mark.parametrize(
    "change",
    [
        {"public_statistics": False},
        {"results_tables": []},
        {"public_statistics": False, "results_tables": []},
    ],
)
def test_unpublished_results_are_404(default_survey, change):
    Survey.objects.filter(pk=default_survey.pk).update(
        **{"public_statistics": True, "results_tables": TABLES, **change}
    )
    client = Client()
    for path in ("", "data.json", "lost_work.csv"):
        assert client.get(f"/results/{default_survey.slug}/{path}").status_code == 404


def test_unknown_survey_and_unchosen_table_are_404(published):
    client = Client()
    assert client.get("/results/no-such-survey/").status_code == 404
    assert client.get(f"/results/{published.slug}/gained_work.csv").status_code == 404
    assert (
        client.get(f"/results/{published.slug}/employment_type-by-lost_work.csv").status_code == 404
    )


def test_the_page_speaks_both_languages(published):
    client = Client()
    english = client.get(f"/results/{published.slug}/", {"lang": "en"}).content.decode()
    chinese = client.get(f"/results/{published.slug}/", {"lang": "zh-hans"}).content.decode()
    assert "Generative video AI and creative work" in english
    assert "Download this table (CSV)" in english
    assert "生成式视频人工智能与创意工作" in chinese
    assert "下载此表（CSV）" in chinese
    assert "Download this table" not in chinese
    # Without ?lang, the browser's language, as on the respondent pages.
    browser = client.get(f"/results/{published.slug}/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert '<html lang="zh-hans">' in browser.content.decode()
    # An unknown ?lang falls back in the same way.
    other = client.get(f"/results/{published.slug}/", {"lang": "xx"})
    assert '<html lang="en">' in other.content.decode()


def test_charts_are_accessible_images_with_their_tables(published):
    html = Client().get(f"/results/{published.slug}/").content.decode()
    charts = re.findall(r"<svg [^>]*>", html)
    assert len(charts) == len(TABLES)
    for tag in charts:
        assert 'role="img"' in tag
        ids = re.search(r'aria-labelledby="([^"]+)"', tag).group(1).split()  # type: ignore[union-attr]
        assert ids[0].startswith("chart-title-") and ids[1].startswith("chart-desc-")
        for id_ in ids:
            assert f'id="{id_}"' in html
    assert html.count("<table") == len(TABLES)
    assert "<script" not in html.replace(
        '<script src="/static/surveys/form.js" defer></script>', ""
    )


def test_csp_is_unchanged(published):
    page = Client().get(f"/results/{published.slug}/")
    from surveys.core.middleware import DEFAULT_POLICY

    assert page["Content-Security-Policy"] == DEFAULT_POLICY


@pytest.mark.parametrize("spec", [TABLES[1], TABLES[-1]])
def test_csv_has_the_apis_figures_and_keeps_suppressed_cells_empty(published, spec):
    key = _key(spec)
    answer = Client().get(f"/results/{published.slug}/{key}.csv", {"lang": "en"})
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    assert f'filename="{published.slug}-{key}.csv"' in answer["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    table = _api(published, spec, "en")["table"]
    cells: dict[Any, dict[str, str]]
    expected: dict[Any, dict[str, Any]]
    if table["kind"] == "frequency":
        cells = {row["code"]: row for row in rows if row["code"]}
        expected = {str(cell["code"]): cell for cell in table["cells"]}
    else:
        cells = {
            (row["row_code"], row["col_code"]): row
            for row in rows
            if row["row_code"] and row["col_code"]
        }
        expected = {(str(c["row"]), str(c["col"])): c for line in table["cells"] for c in line}
    assert set(cells) == set(expected)
    hidden = 0
    for code, cell in expected.items():
        row = cells[code]
        assert row["suppressed"] == ("1" if cell["suppressed"] else "0")
        if cell["suppressed"]:
            hidden += 1
            assert row["respondents"] == row["percent"] == row["ci_low"] == row["ci_high"] == ""
            continue
        assert int(row["respondents"]) == cell["n"]
        for name in ("percent", "ci_low", "ci_high"):
            assert (float(row[name]) if row[name] else None) == cell[name]
    if table["kind"] == "crosstab":
        assert hidden > 0  # complementary suppression in this population


def test_counter_respects_the_minimum_cell_size(published, default_survey):
    """Shown only from k responses on, rounded down to a multiple of k (60 complete, k = 10)."""
    client = Client()
    landing = client.get(f"/s/{published.slug}/").content.decode()
    assert "At least 60 people have answered so far." in landing
    assert f'href="/results/{published.slug}/"' in landing
    Survey.objects.filter(pk=published.pk).update(min_cell_size=25)
    assert "At least 50 people" in client.get(f"/results/{published.slug}/").content.decode()
    Survey.objects.filter(pk=published.pk).update(min_cell_size=61)
    assert "have answered so far" not in client.get(f"/s/{published.slug}/").content.decode()
    assert "have answered so far" not in client.get(f"/results/{published.slug}/").content.decode()


def test_landing_shows_no_counter_without_published_results(default_survey, answered):
    landing = Client().get(f"/s/{default_survey.slug}/").content.decode()
    assert "have answered so far" not in landing
    assert "/results/" not in landing


@override_settings(EXPOSURE_RATE_LIMIT="3/600")
def test_each_address_is_rate_limited(published):
    client = Client(REMOTE_ADDR=f"2001:db8::{uuid.uuid4().hex[:4]}")
    for path in ("", "data.json", "lost_work.csv"):
        assert client.get(f"/results/{published.slug}/{path}").status_code == 200
    limited = client.get(f"/results/{published.slug}/", {"lang": "zh-hans"})
    assert limited.status_code == 429
    assert "请稍候" in limited.content.decode()
    other = Client(REMOTE_ADDR=f"2001:db8::{uuid.uuid4().hex[:4]}:1")
    assert other.get(f"/results/{published.slug}/").status_code == 200


def test_counter_is_counted_once_per_data_version(published, statistics_cache, settings):
    """The count reads every response: it is cached with the tables, and moves on with them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from surveys.respondent.selectors import responses_answered
    from tests.api.helpers import respond

    assert responses_answered(survey=published) == 60
    with CaptureQueriesContext(connection) as queries:
        assert responses_answered(survey=published) == 60
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    for _ in range(10):  # each submission moves the survey's data version on
        respond(published, {"lost_work": True})
    landing = Client().get(f"/s/{published.slug}/").content.decode()
    assert "At least 70 people have answered so far." in landing
    settings.EXPOSURE_STATISTICS_CACHE_SECONDS = 0  # no cache: counted each time, the same
    with CaptureQueriesContext(connection) as queries:
        assert responses_answered(survey=published) == 70
    assert [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
