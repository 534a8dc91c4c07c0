"""Helpers of the respondent tests: a three-page survey and the forms a browser sends."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tests.surveys.helpers import Document, document, t, url


def _short(code: str, *, required: bool = False) -> dict[str, Any]:
    return {
        "code": code,
        "type": "short_text",
        "required": required,
        "text": t(f"{code}?", f"{code}？"),
    }


# Three pages: the second has only optional questions, so a post meant for the first one is
# valid there too, which is what made a double click skip it unseen.
THREE_PAGES: dict[str, Any] = {
    "slug": "three-pages",
    "title": t("Three pages", "三页"),
    "consent_text": t("Agree.", "同意。"),
    "languages": ["en", "zh-hans"],
    "default_language": "en",
    "status": "open",
    "pages": [
        {"code": "first", "title": t("First", "第一页"), "questions": [_short("name")]},
        {"code": "second", "title": t("Second", "第二页"), "questions": [_short("hobby")]},
        {"code": "third", "title": t("Third", "第三页"), "questions": [_short("last")]},
    ],
}


def rendered_form(result: Any) -> dict[str, str]:
    """The hidden inputs the survey-page form was rendered with (what a browser sends back)."""
    fields: dict[str, str] = {}
    for element in document(result).find("input"):
        inside_form = any(
            parent["tag"] == "form" and "survey-page" in parent["attrs"].get("class", "")
            for parent in element["parents"]
        )
        if inside_form and element["attrs"].get("type") == "hidden":
            fields[element["attrs"]["name"]] = element["attrs"]["value"]
    return fields


def page_form(client: Client, token: str, answers: dict[str, Any], action: str) -> dict[str, Any]:
    """The body a browser sends from the page shown now, with `answers` filled in."""
    shown = client.get(url(token))
    assert shown.status_code == 200
    return {**rendered_form(shown), **answers, "action": action}


def landing_form(client: Client, path: str) -> dict[str, str]:
    """The body a browser sends from the start page, consent given."""
    shown = client.get(path)
    assert shown.status_code == 200
    fields = {
        e["attrs"]["name"]: e["attrs"].get("value", "")
        for e in Document(shown.content.decode()).find("input", type="hidden")
    }
    fields.pop("csrfmiddlewaretoken", None)
    return {**fields, "consent": "on", "adult": "on"}


def notice(result: Any) -> str:
    """The text of the notice that a stale post was not saved ("" when there is none)."""
    found = [e for e in document(result).elements if "stale" in e["attrs"].get("class", "").split()]
    return " ".join(e["text"].strip() for e in found)
