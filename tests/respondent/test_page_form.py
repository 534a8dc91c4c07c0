"""The page form's HTML: Enter goes forward, "please specify" boxes can be hidden by the script."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

from surveys.models import Response
from tests.surveys.helpers import (
    DEFAULT_ANSWERS,
    DEFAULT_PAGES_SHOWN,
    Document,
    page_title,
    start,
    url,
)


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
        shown = client.get(url(token))
        assert "{#" not in shown.content.decode()  # no template comment leaks onto the page
        buttons = _submit_buttons(shown)
        first = buttons[0]["attrs"]
        # It sends no action (a page sent without one goes forward), and it is out of the tab
        # order and of the accessibility tree: the visible buttons are unchanged.
        assert "name" not in first and "value" not in first
        assert first["tabindex"] == "-1" and first["aria-hidden"] == "true"
        visible = [b["attrs"]["value"] for b in buttons[1:]]
        assert visible[0] == ("back" if index else "next")
        # What Enter sends: the page's fields and no action.
        result = client.post(url(token), DEFAULT_ANSWERS[code])
        assert result.status_code == 302
        if index < len(DEFAULT_PAGES_SHOWN) - 1:
            assert page_title(client.get(url(token))) != ""
    response = Response.objects.get()
    assert response.status == Response.Status.COMPLETE
    assert set(response.page_seconds or DEFAULT_PAGES_SHOWN) == set(DEFAULT_PAGES_SHOWN)


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
