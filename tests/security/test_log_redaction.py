"""No log line carries a credential: resume tokens, invitations and receipt codes are redacted
from every logger's records, whichever handler writes them."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.core.servers.basehttp import WSGIRequestHandler
from django.test import Client

from surveys.models import Survey
from surveys.respondent.services import invitations_create
from tests.surveys.helpers import DEFAULT_ANSWERS, DEFAULT_PAGES_SHOWN, post, receipt_code, start

LOGGERS = ["", "django", "django.request", "django.server", "celery", "surveys", "classifier"]


class Everything(logging.Handler):
    """A handler of the test's own, with no filter: it sees records as every handler does."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(logging.Formatter().format(record))


@pytest.fixture
def captured() -> Iterator[Everything]:
    handler = Everything()
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        # On each logger, not only the root: django.server does not propagate.
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger, level in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)


def _request_line(path: str, status: int) -> None:
    """Log a request line as runserver's handler does (to `django.server`)."""
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
    handler.requestline = f"GET {path} HTTP/1.1"
    handler.client_address = ("127.0.0.1", 50000)
    handler.request_version = "HTTP/1.1"
    handler.request = None
    handler.log_message('"%s" %s %s', handler.requestline, str(status), "512")


def test_a_respondent_walk_with_errors_leaves_no_token_in_any_log(
    default_survey: Survey, captured: Everything, eager_celery: None
) -> None:
    Survey.objects.filter(pk=default_survey.pk).update(invitation_only=True)
    invitations = invitations_create(survey=default_survey, count=2)
    client = Client()
    landing = f"/s/{default_survey.slug}/"
    # A used-up or mistyped invitation, then a consent form with nothing ticked: both 4xx.
    assert client.get(f"{landing}?invitation={invitations[1]}x").status_code in (200, 403, 404)
    assert client.post(f"{landing}?invitation={invitations[1]}", {}).status_code == 400
    token = start(
        client,
        default_survey,
        path=f"{landing}?invitation={invitations[0]}",
        data={"invitation": invitations[0]},
    )
    # A page with an invalid answer (400) and a mistyped resume link (404).
    bad = post(
        client, token, {**DEFAULT_ANSWERS[DEFAULT_PAGES_SHOWN[0]], "q_years_experience": "x"}
    )
    assert bad.status_code == 400, bad.status_code
    assert client.get(f"/r/{token}x/").status_code == 404
    for index, code in enumerate(DEFAULT_PAGES_SHOWN):
        last = index == len(DEFAULT_PAGES_SHOWN) - 1
        answer = post(client, token, DEFAULT_ANSWERS[code], "submit" if last else "next")
        assert answer.status_code == 302
    receipt = receipt_code(client.get(f"/s/{default_survey.slug}/thanks/"))
    assert client.get(f"/r/{token}/").status_code in (200, 409)
    assert client.post("/withdraw/?code=" + receipt, {"receipt": "WRONG"}).status_code == 400
    _request_line(f"/r/{token}/", 400)
    _request_line(f"/withdraw/?code={receipt}", 200)
    _request_line(f"{landing}?invitation={invitations[0]}", 200)
    logging.getLogger("celery").debug("task for /r/%s/ received", token)

    text = "\n".join(captured.lines)
    assert "Bad Request: /r/[redacted]/" in text  # the 4xx lines are still written
    assert '"GET /r/[redacted]/ HTTP/1.1" 400' in text
    for secret in [token, receipt, *invitations]:
        assert secret not in text, secret
