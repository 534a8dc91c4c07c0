"""The occupation search: job titles in either language, resolved to the ISCO group stored.

An occupation question is a select of ISCO groups; beside it a text box offers job titles as a
datalist (a search without JavaScript). A title sent with the select left empty chooses the
title's group; the answer stored is always the ISCO code, so exports and statistics see no
difference. `surveys/static/surveys/form.js` chooses the group as soon as a title is picked.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from surveys import reference
from surveys.definitions.question_types import question_type
from surveys.models import Question

TITLE_SUFFIX = "__title"
TITLE_MAX_LENGTH = 200


def is_occupation(question: Question) -> bool:
    return question_type(question.type).coded_list == "occupation"


def data_with_titles_resolved(data: Any, questions: list[Question]) -> Any:
    """`data` with each occupation left unchosen set to the group of the job title typed."""
    chosen: dict[str, str] = {}
    for question in questions:
        name = f"q_{question.code}"
        title = str(data.get(name + TITLE_SUFFIX) or "")
        if is_occupation(question) and title.strip() and not data.get(name):
            code = reference.occupation_for_title(title)
            if code is not None:
                chosen[name] = code
    if not chosen:
        return data
    resolved = data.copy()
    for name, code in chosen.items():
        resolved[name] = code
    return resolved


def unmatched_title(data: Mapping[str, Any], name: str) -> str:
    """The job title typed for occupation `name` when it chose nothing ('' otherwise)."""
    title = str(data.get(name + TITLE_SUFFIX) or "").strip()
    return title if title and not data.get(name) else ""


@functools.cache
def titles_html(language: str) -> SafeString:
    """The <option>s of the job-title datalist, `language`'s titles first; each names its group."""
    return mark_safe(  # noqa: S308  # nosec B308 B703  # every value is escaped
        "".join(
            f'<option value="{escape(title)}" data-isco="{escape(code)}"></option>'
            for title, code in reference.occupation_titles(language)
        )
    )
