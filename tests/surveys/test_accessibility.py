"""Accessibility checks on the rendered HTML: labels, error wiring, summaries, lang, viewport."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.surveys.helpers import (
    DEFAULT_ANSWERS,
    DEFAULT_PAGES_SHOWN,
    Document,
    complete_default,
    page_title,
    post,
    start,
    url,
)

CONTROLS = {"input", "select", "textarea"}
NOT_FILLED_IN = {"hidden", "submit", "button", "reset", "image"}


def _controls(doc: Document) -> list[dict]:
    return [
        e
        for e in doc.elements
        if e["tag"] in CONTROLS and e["attrs"].get("type", "text") not in NOT_FILLED_IN
    ]


Element = dict[str, Any]


def _classes(element: Element) -> list[str]:
    return element["attrs"].get("class", "").split()


def check_page(result: Any, *, expect_errors: bool = False) -> Document:
    """Assert the accessibility rules on one rendered page; returns the parsed document."""
    doc = Document(result.content.decode())
    ids = [e["attrs"]["id"] for e in doc.elements if "id" in e["attrs"]]
    errors = [e for e in doc.elements if "error" in _classes(e) and e["tag"] == "p"]
    problems = [
        *_page_problems(doc=doc, ids=ids),
        *_label_problems(doc=doc),
        *_description_problems(doc=doc, known=set(ids), errors=errors),
        *_invalid_question_problems(doc=doc),
        *_summary_problems(doc=doc, known=set(ids), errors=errors, expect_errors=expect_errors),
    ]
    assert not problems, "\n".join(problems)
    return doc


def _page_problems(*, doc: Document, ids: list[str]) -> list[str]:
    """The page as a whole: lang, viewport, title, one h1, unique ids."""
    problems = []
    root = doc.find("html")
    if not root or not root[0]["attrs"].get("lang"):
        problems.append("<html> has no lang")
    viewports = list(doc.find("meta", name="viewport"))
    if not viewports or "width=device-width" not in viewports[0]["attrs"].get("content", ""):
        problems.append("no responsive viewport meta")
    if not doc.find("title") or not doc.find("title")[0]["text"].strip():
        problems.append("no <title>")
    if len(doc.find("h1")) != 1:
        problems.append(f"{len(doc.find('h1'))} <h1> elements")
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        problems.append(f"duplicate ids: {sorted(duplicates)}")
    return problems


def _in_labelled_fieldset(doc: Document, control: Element) -> bool:
    return any(
        parent["tag"] == "fieldset"
        and any(
            e["tag"] == "legend" and parent in e["parents"] and e["text"].strip()
            for e in doc.elements
        )
        for parent in control["parents"]
    )


def _label_problems(*, doc: Document) -> list[str]:
    """Every control has a label; each radio and check box has one of its own."""
    problems = []
    labelled = {e["attrs"].get("for") for e in doc.find("label") if e["text"].strip()}
    for control in _controls(doc):
        attrs = control["attrs"]
        name = attrs.get("name", "?")
        if not (
            attrs.get("id") in labelled
            or attrs.get("aria-label")
            or attrs.get("aria-labelledby")
            or _in_labelled_fieldset(doc, control)
        ):
            problems.append(f"control {name} has no label")
        if attrs.get("type") in {"radio", "checkbox"} and attrs.get("id") not in labelled:
            problems.append(f"option {attrs.get('id')} has no label of its own")
    return problems


def _description_problems(*, doc: Document, known: set[str], errors: list[Element]) -> list[str]:
    """aria-describedby points at real ids, and ties each error message to its field."""
    problems = []
    described = set()
    for element in doc.elements:
        for ref in element["attrs"].get("aria-describedby", "").split():
            described.add(ref)
            if ref not in known:
                problems.append(f"aria-describedby points at missing id {ref}")
    for error in errors:
        if error["attrs"].get("id") not in described:
            problems.append(f"error {error['text'][:40]!r} is not referenced by aria-describedby")
    for element in doc.elements:
        if element["attrs"].get("aria-invalid") == "true":
            refs = element["attrs"].get("aria-describedby", "").split()
            if not any(doc.by_id(ref) in errors for ref in refs):
                problems.append(f"{element['attrs'].get('name')} is invalid without its message")
    return problems


def _invalid_question_problems(*, doc: Document) -> list[str]:
    """Inside a question (or consent/withdraw field) with an error, each text box or list is
    marked invalid; radio and check boxes are described through their fieldset instead."""
    problems = []
    for control in _controls(doc):
        wrapper = next(
            (p for p in reversed(control["parents"]) if "has-error" in _classes(p)), None
        )
        if wrapper is None or control["attrs"].get("name", "").endswith("__other"):
            continue
        attrs = control["attrs"]
        if attrs.get("type") in {"radio", "checkbox"} and control["tag"] == "input":
            fieldsets = [p for p in control["parents"] if p["tag"] == "fieldset"]
            if not (
                any(f["attrs"].get("aria-describedby") for f in fieldsets)
                or attrs.get("aria-describedby")
            ):
                problems.append(f"option {attrs.get('id')} has no described fieldset")
        elif attrs.get("aria-invalid") != "true":
            problems.append(f"{attrs.get('name')} in an erroneous question lacks aria-invalid")
    return problems


def _summary_problems(
    *, doc: Document, known: set[str], errors: list[Element], expect_errors: bool
) -> list[str]:
    """With errors, messages and an alerting summary whose links lead to them; else neither."""
    summaries = doc.find(id="error-summary")
    if not expect_errors:
        return ["error messages on a page without errors"] if summaries or errors else []
    problems = []
    if not errors:
        problems.append("no error messages shown")
    if not summaries:
        return [*problems, "no error summary"]
    summary = summaries[0]
    if summary["attrs"].get("role") != "alert":
        problems.append("the error summary is not role=alert")
    links = [e for e in doc.find("a") if summary in e["parents"]]
    if not links:
        problems.append("the error summary has no links")
    for link in links:
        target = link["attrs"].get("href", "")
        if not target.startswith("#") or target[1:] not in known:
            problems.append(f"summary link {target} leads nowhere")
    return problems


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_page_of_the_default_survey(default_survey, default_definition, language):
    titles = {p["code"]: p["title"][language] for p in default_definition["pages"]}
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    doc = check_page(client.get(f"/s/{default_survey.slug}/"))
    assert doc.find("html")[0]["attrs"]["lang"] == language
    check_page(client.post(f"/s/{default_survey.slug}/", {}), expect_errors=True)
    token = start(client, default_survey)
    for code in DEFAULT_PAGES_SHOWN:
        check_page(client.get(url(token)))
        if code == DEFAULT_PAGES_SHOWN[-1]:  # sent blank, the last page would complete
            break
        empty = post(client, token, {})
        if empty.status_code == 400:  # a page with required questions, sent blank
            check_page(empty, expect_errors=True)
        else:  # nothing required here: the blank page was accepted, so step back to it
            assert post(client, token, {}, action="back").status_code == 302
        assert page_title(client.get(url(token))) == titles[code]
        done = post(client, token, DEFAULT_ANSWERS[code])
        assert done.status_code == 302
    done = post(client, token, DEFAULT_ANSWERS["final"], "submit")
    assert done["Location"].endswith("/thanks/")
    check_page(client.get(f"/s/{default_survey.slug}/thanks/"))


@pytest.mark.django_db
def test_all_question_types_with_errors(client, all_types_survey):
    token = start(client, all_types_survey)
    check_page(client.get(url(token)))
    bad = {
        "q_pet": "other",
        "q_media": ["video", "none"],
        "q_grid__fast": "9",
        "q_age": "2.5",
        "q_hours": "a lot",
        "q_story": "x" * 6000,
        "q_job": "other",
        "q_where": "ZZ",
        "q_nickname": "a\x00b",
    }
    result = post(client, token, bad)
    assert result.status_code == 400
    doc = check_page(result, expect_errors=True)
    summary = doc.by_id("error-summary")
    assert summary is not None
    links = [e for e in doc.find("a") if summary in e["parents"]]
    assert len(links) >= 9
    for name in ("q_age", "q_hours", "q_story", "q_where", "q_nickname"):
        field = doc.by_id(name)
        assert field is not None, name
        assert field["attrs"]["aria-invalid"] == "true"
        assert f"{name}-error" in field["attrs"]["aria-describedby"].split()
    # The help text is part of the description too.
    age = doc.by_id("q_age")
    assert age is not None
    assert age["attrs"]["aria-describedby"].split() == ["q_age-help", "q_age-error"]


@pytest.mark.django_db
def test_withdraw_and_message_pages(client, default_survey):
    check_page(client.get("/withdraw/"))
    check_page(client.post("/withdraw/", {"receipt": ""}), expect_errors=True)
    check_page(
        client.post("/withdraw/", {"receipt": "AAAA-BBBB", "confirm": "on"}), expect_errors=True
    )
    check_page(client.get("/s/no-such-survey/"))
    token = complete_default(client, default_survey)
    check_page(client.get(url(token)))  # already submitted


@pytest.mark.django_db
def test_optional_controls_are_not_marked_required(client, default_survey):
    token = start(client, default_survey)
    doc = Document(client.get(url(token)).content.decode())
    occupation, years = doc.by_id("q_occupation"), doc.by_id("q_years_experience")
    assert occupation is not None and years is not None
    assert occupation["attrs"].get("aria-required") == "true"
    assert "aria-required" not in years["attrs"]
