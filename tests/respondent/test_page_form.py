"""The page form's HTML: Enter goes forward, "please specify" boxes can be hidden by the script."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

from surveys.models import Response
from tests.surveys.helpers import DEFAULT_ANSWERS, DEFAULT_PAGES_SHOWN, Document, post, start, url


def _submit_buttons(result) -> list[dict]:  # type: ignore[no-untyped-def]
    doc = Document(result.content.decode())
    return [
        button
        for button in doc.find("button", type="submit")
        if any("survey-page" in p["attrs"].get("class", "") for p in button["parents"])
    ]


@pytest.mark.django_db
def test_the_first_submit_button_goes_forward_on_every_page(client, default_survey):
    # A browser submits a form with its first submit button when Enter is pressed in a field.
    token = start(client, default_survey)
    for index, code in enumerate(DEFAULT_PAGES_SHOWN):
        last = index == len(DEFAULT_PAGES_SHOWN) - 1
        buttons = _submit_buttons(client.get(url(token)))
        first = buttons[0]["attrs"]
        assert first["value"] == ("submit" if last else "next")
        # Out of the tab order and of the accessibility tree: the visible buttons are unchanged.
        assert first["tabindex"] == "-1" and first["aria-hidden"] == "true"
        visible = [b["attrs"]["value"] for b in buttons[1:]]
        if index:
            assert visible[0] == "back"
        assert ("submit" if last else "next") in visible
        post(client, token, DEFAULT_ANSWERS[code], "submit" if last else "next")
    assert Response.objects.get().status == Response.Status.COMPLETE


@pytest.mark.django_db
def test_other_boxes_can_be_hidden_and_the_occupation_select_names_its_box(client, default_survey):
    token = start(client, default_survey)
    doc = Document(client.get(url(token)).content.decode())
    select = doc.by_id("q_occupation")
    assert select["attrs"]["data-other"] == "q_occupation__other"
    assert select["attrs"]["data-other-value"] == "other"
    css = finders.find("surveys/site.css")
    # Without this rule `.other { display: block }` would show a box its script has hidden.
    assert "[hidden] { display: none !important; }" in Path(css).read_text()
