"""What exports do when the respondent side announces something (surveys.signals)."""

from __future__ import annotations

from typing import Any

from surveys.exports.services import exports_withdraw


def on_response_withdrawn(*, survey_id: int, **kwargs: Any) -> None:
    """A withdrawn response's answers may be in finished exports: delete their files."""
    exports_withdraw(survey_id=survey_id)
