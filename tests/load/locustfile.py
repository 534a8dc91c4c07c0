"""Simulated traffic for tests/load/test_load.py: respondents walking the survey, API readers.

Run by the test (see there for the plan, the rates and what is asserted), one locust process,
headless. Everything it needs comes in a JSON plan file (LOAD_PLAN); what it saw goes to
LOAD_RESULTS when the run stops. The site is addressed as the reverse proxy would pass requests
on: X-Forwarded-Proto https and the client's address appended to X-Forwarded-For. The simulated
addresses are all in 127.0.0.0/8 and are only header values.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from locust import HttpUser, constant_pacing, events, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["LOAD_PLAN"]).read_text(encoding="utf-8"))
COUNTS: Counter[str] = Counter()
COMPLETED: list[str] = []
_addresses = itertools.count(1)


def _new_address() -> str:
    """A distinct client address per simulated respondent, as the proxy would report it."""
    # The second octet is drawn per run, so API throttle counters (kept an hour in Redis, keyed
    # by address) never carry over from an earlier run.
    n = next(_addresses)
    return f"127.{PLAN['address_octet']}.{(n >> 8) & 255}.{n & 255 or 1}"


class _Client(HttpUser):
    abstract = True

    def on_start(self) -> None:
        self.address = _new_address()

    def headers(self) -> dict[str, str]:
        origin = "https://" + self.host.split("://", 1)[1]
        return {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": self.address,
            "Origin": origin,
            "Referer": origin + "/",
        }

    def call(self, method: str, url: str, name: str, expect: int, **kwargs: Any) -> Any:
        """One HTTP request (redirects not followed, so each is counted); None unless `expect`."""
        with self.client.request(
            method,
            url,
            name=name,
            headers={**self.headers(), **kwargs.pop("headers", {})},
            allow_redirects=False,
            catch_response=True,
            **kwargs,
        ) as response:
            code = response.status_code
            # The TLS proxy is not here: hand the site's Secure cookies back over the plain
            # loopback hop, as the browser does over HTTPS.
            for cookie in self.client.cookies:
                cookie.secure = False
            COUNTS["requests"] += 1
            COUNTS[f"status_{code // 100}xx" if code else "connection_errors"] += 1
            if code == expect:
                response.success()
                return response
            if code == 429:
                COUNTS["rate_limited"] += 1
                response.failure("429 rate limited")
            elif code == 0 or code >= 500:
                response.failure(f"{code or 'connection error'}: {response.text[:200]}")
            else:
                COUNTS["unexpected"] += 1
                response.failure(f"{code} where {expect} was expected: {response.text[:300]}")
            return None


class Respondent(_Client):
    """Consent, every page of the default survey with the answers the browser test gives, submit.

    Each walk is a new respondent (new cookies, new address); a walk starts every
    `walk_seconds`, however long the last one took, so the offered rate stays the plan's.
    """

    weight = 1
    wait_time = constant_pacing(PLAN["walk_seconds"])

    @task
    def walk(self) -> None:
        self.client.cookies.clear()
        self.address = _new_address()
        COUNTS["walks_started"] += 1
        slug = PLAN["slug"]
        if self.call("GET", f"/s/{slug}/", "GET /s/<slug>/ (consent page)", 200) is None:
            return
        csrf = self.client.cookies.get("csrftoken", "")
        consent = {"consent": "on", "adult": "on", "csrfmiddlewaretoken": csrf}
        started = self.call("POST", f"/s/{slug}/", "POST /s/<slug>/ (consent)", 302, data=consent)
        if started is None:
            return
        page_url = started.headers["Location"]
        if self.call("GET", page_url, "GET /r/<token>/ (page)", 200) is None:
            return
        walk_id = uuid.uuid4().hex
        pages = PLAN["pages"]
        for number, (code, answers) in enumerate(pages, start=1):
            last = number == len(pages)
            data = {**answers, "action": "submit" if last else "next"}
            data["csrfmiddlewaretoken"] = csrf
            if "q_change_text" in data:
                data["q_change_text"] = f"{data['q_change_text']} [{walk_id}]"
            sent = self.call("POST", page_url, "POST /r/<token>/ (answers)", 302, data=data)
            if sent is None:
                return
            following = sent.headers["Location"]
            if last:
                if not re.search(r"/thanks/$", following):
                    COUNTS["unexpected"] += 1
                    return
                thanks = self.call("GET", following, "GET /s/<slug>/thanks/", 200)
                if thanks is not None and 'id="receipt-code"' in thanks.text:
                    COMPLETED.append(walk_id)
                return
            if self.call("GET", following, "GET /r/<token>/ (page)", 200) is None:
                return


class StatisticsReader(_Client):
    """Someone reading the published statistics (a dashboard, a journalist's page)."""

    fixed_count = PLAN["anonymous_readers"]
    wait_time = constant_pacing(PLAN["reader_seconds"])

    @task
    def read(self) -> None:
        query = PLAN["queries"][COUNTS["reads"] % len(PLAN["queries"])]
        COUNTS["reads"] += 1
        url = f"/api/v1/surveys/{PLAN['slug']}/statistics/?{query}"
        self.call("GET", url, "GET /api/v1/surveys/<slug>/statistics/ (anonymous)", 200)


class ResearcherReader(_Client):
    """A researcher's script pulling cross-tabs with its API token."""

    fixed_count = PLAN["token_readers"]
    wait_time = constant_pacing(PLAN["reader_seconds"])

    @task
    def read(self) -> None:
        query = PLAN["queries"][COUNTS["reads"] % len(PLAN["queries"])]
        COUNTS["reads"] += 1
        url = f"/api/v1/surveys/{PLAN['slug']}/statistics/?{query}"
        auth = {"Authorization": f"Token {PLAN['token']}"}
        self.call("GET", url, "GET /api/v1/surveys/<slug>/statistics/ (token)", 200, headers=auth)


@events.test_stop.add_listener
def _write_results(**_kwargs: Any) -> None:
    Path(os.environ["LOAD_RESULTS"]).write_text(
        json.dumps({"counts": dict(COUNTS), "completed": COMPLETED}), encoding="utf-8"
    )
