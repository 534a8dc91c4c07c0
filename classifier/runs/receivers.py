"""Listeners to the surveys app's announcements."""

from __future__ import annotations

import logging
from typing import Any

from classifier.runs.services import classifications_create

logger = logging.getLogger(__name__)


def on_response_completed(*, answer_ids: list[int] | None = None, **kwargs: Any) -> None:
    """Create and queue classification rows for a submitted response's classify answers."""
    try:
        classifications_create(answer_ids=answer_ids or [])
    except Exception:
        # Runs after the respondent's submit committed: a failure here must not turn their
        # thank-you page into an error. The rows are missing, and the sweep creates them.
        logger.exception(
            "could not create classifications for response %s", kwargs.get("response_id")
        )
