"""Domain errors of survey services; views show their messages in the respondent's language."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise  # a lazy or plain text, in the stubs only


class SurveyError(Exception):
    """Base class; `message` is shown to the respondent."""

    message: _StrOrPromise = _("Something went wrong with this survey.")
    status = 400

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(str(self.message))


class SurveyNotFound(SurveyError):
    message = _("There is no survey at this address. Please check the link you were given.")
    status = 404


class SurveyClosed(SurveyError):
    message = _("This survey is not open for responses at the moment.")
    status = 410


class InvitationRequired(SurveyError):
    message = _("This survey is by invitation only. Please use the personal link you were sent.")
    status = 403


class InvitationUsed(SurveyError):
    message = _("This invitation link has already been used. Each invitation can be used once.")
    status = 410


class ResumeLinkInvalid(SurveyError):
    message = _(
        "This link to continue a response is not valid. It may be mistyped, or the response may "
        "have been withdrawn."
    )
    status = 404


class ResumeLinkExpired(SurveyError):
    message = _("This link to continue a response has expired. You are welcome to start again.")
    status = 410


class ResponseAlreadySubmitted(SurveyError):
    message = _("This response has already been submitted. Thank you, nothing more is needed.")
    status = 409


class ReceiptCodeInvalid(SurveyError):
    message = _("We found no response with this receipt code. Please check it and try again.")
    status = 404


class RateLimited(SurveyError):
    message = _("Too many requests from your connection. Please wait a few minutes and try again.")
    status = 429
