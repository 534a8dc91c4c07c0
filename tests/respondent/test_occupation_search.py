"""The occupation search: job titles in either language choose an ISCO group, stored as its code."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from django.test import Client

from surveys import reference
from tests.surveys.helpers import (
    DEFAULT_ANSWERS,
    Document,
    errors,
    post,
    response_of,
    selected,
    start,
    url,
)

TITLES_FILE = Path(reference.__file__).parent / "occupation_titles.json"


def _about_you(**changes: str) -> dict[str, str]:
    answers = {**DEFAULT_ANSWERS["about_you"], **changes}
    return {name: value for name, value in answers.items() if value is not None}


def test_every_title_names_a_known_group_and_no_title_two():
    data = json.loads(TITLES_FILE.read_text(encoding="utf-8"))
    codes = {occupation.isco for occupation in reference.occupations()}
    groups: dict[str, set[str]] = defaultdict(set)
    for entry in data["titles"]:
        assert entry["isco"] in codes, entry["isco"]
        assert entry["en"] and entry["zh-hans"], entry["isco"]
        for language in ("en", "zh-hans"):
            for title in entry[language]:
                groups[title.casefold()].add(entry["isco"])
    for occupation in reference.occupations():
        for label in occupation.label.values():
            groups[label.casefold()].add(occupation.isco)
    assert not {title: found for title, found in groups.items() if len(found) > 1}


@pytest.mark.parametrize(
    ("title", "isco"),
    [
        ("Compositor", "2166"),
        ("vfx compositor", "2166"),
        ("  Animator ", "2166"),
        ("Voice actor", "2655"),
        ("Storyboard artist", "2651"),
        ("剪辑师", "2654"),
        ("配音演员", "2655"),
        ("灯光师(三维)", "2166"),  # ASCII brackets find the full-width title
        ("Actors", "2655"),  # the groups' own labels are titles too
    ],
)
def test_titles_in_both_languages_find_their_group(title, isco):
    assert reference.occupation_for_title(title) == isco


@pytest.mark.django_db
@pytest.mark.parametrize(("title", "isco"), [("Compositor", "2166"), ("配音演员", "2655")])
def test_a_title_sent_without_a_group_stores_the_groups_code(client, default_survey, title, isco):
    token = start(client, default_survey)
    result = post(client, token, _about_you(q_occupation="", q_occupation__title=title))
    assert result.status_code == 302, errors(result)
    answer = response_of(token).answers.get(question__code="occupation")
    assert answer.choice == isco and answer.text == ""


@pytest.mark.django_db
def test_a_group_chosen_in_the_list_wins_over_the_title(client, default_survey):
    token = start(client, default_survey)
    result = post(client, token, _about_you(q_occupation="3431", q_occupation__title="Animator"))
    assert result.status_code == 302
    assert response_of(token).answers.get(question__code="occupation").choice == "3431"


@pytest.mark.django_db
def test_an_unknown_title_is_not_dropped_silently(client, default_survey):
    token = start(client, default_survey)
    result = post(client, token, _about_you(q_occupation="", q_occupation__title="Dragon tamer"))
    assert result.status_code == 400
    assert any("We found no occupation for “Dragon tamer”" in error for error in errors(result))
    doc = Document(result.content.decode())
    assert doc.by_id("q_occupation__title")["attrs"]["value"] == "Dragon tamer"
    # The rest of the page was kept.
    assert response_of(token).answers.get(question__code="country").choice == "CN"


@pytest.mark.django_db
def test_a_resolved_title_shows_its_group_when_the_page_comes_back(client, default_survey):
    token = start(client, default_survey)
    answers = _about_you(q_occupation="", q_occupation__title="Animator", q_years_experience="x")
    result = post(client, token, answers)
    assert result.status_code == 400
    assert selected(result)["q_occupation"] == ["2166"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "first", "also"),
    [("en", "2D animator", "配音演员"), ("zh-hans", "UI设计师", "Compositor")],
)
def test_the_datalist_offers_titles_in_the_page_language_first(
    default_survey, language, first, also
):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    token = start(client, default_survey)
    doc = Document(client.get(url(token)).content.decode())
    box = doc.by_id("q_occupation__title")
    assert box["attrs"]["list"] == "q_occupation-titles"
    options = [e for e in doc.find("option") if any(p["tag"] == "datalist" for p in e["parents"])]
    values = [option["attrs"]["value"] for option in options]
    assert values[0] == first and also in values
    assert {option["attrs"]["data-isco"] for option in options} <= {
        occupation.isco for occupation in reference.occupations()
    }
