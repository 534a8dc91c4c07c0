"""The results page is the same for every visitor of a language, and is sent whole from the cache.

Its language switcher is links to the page in each language (no form, no per-visitor token), so
the page, frame included, is made once per data version and language; what each request still
does is checked here: the survey is looked up (at most once a second per process in
production, `EXPOSURE_RESULTS_RECHECK_SECONDS`; at once here) and the address is counted
against the rate limit.
"""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser
from typing import Any

from django.test import Client, override_settings

from surveys.core.middleware import DEFAULT_POLICY
from surveys.models import Survey


def _visitor(**extra: Any) -> Client:
    return Client(REMOTE_ADDR=f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}", **extra)


class _Switcher(HTMLParser):
    """The header's language links: (href, lang, aria-current) of each."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.links: list[tuple[str, str, str | None]] = []
        self.forms = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "nav" and found.get("class") == "lang":
            self.inside = True
        elif tag == "a" and self.inside:
            self.links.append((found["href"] or "", found["lang"] or "", found.get("aria-current")))
        elif tag == "form":
            self.forms += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self.inside = False


def _switcher(html: str) -> _Switcher:
    parser = _Switcher()
    parser.feed(html)
    return parser


def test_the_page_is_the_same_for_every_visitor(published: Survey, statistics_cache) -> None:
    url = f"/results/{published.slug}/?lang=zh-hans"
    first = _visitor().get(url)
    signed_in = _visitor(HTTP_ACCEPT_LANGUAGE="en")
    signed_in.cookies["sessionid"] = "not-a-session"
    signed_in.cookies["csrftoken"] = "x" * 32
    second = signed_in.get(url)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    for answer in (first, second):
        assert not answer.cookies  # no session, no form token, no language cookie
        assert "csrfmiddlewaretoken" not in answer.content.decode()
        assert "Cookie" not in answer.get("Vary", "")  # `?lang=` decides everything
        # The security headers are set on the page sent from the cache as on any other.
        assert answer["Content-Security-Policy"] == DEFAULT_POLICY
        assert answer["X-Content-Type-Options"] == "nosniff"
        assert answer["X-Frame-Options"] == "DENY"
        assert answer["Content-Type"] == "text/html; charset=utf-8"


def test_without_lang_the_page_varies_with_the_language_cookie(
    published: Survey, statistics_cache
) -> None:
    answer = _visitor().get(f"/results/{published.slug}/")
    assert {"Cookie", "Accept-Language"} <= {part.strip() for part in answer["Vary"].split(",")}
    chosen = _visitor()
    chosen.cookies["django_language"] = "zh-hans"
    assert '<html lang="zh-hans">' in chosen.get(f"/results/{published.slug}/").content.decode()


def test_the_switcher_links_work_in_both_languages(published: Survey, statistics_cache) -> None:
    names = {"en": "English", "zh-hans": "简体中文"}
    for language in ("en", "zh-hans"):
        html = _visitor().get(f"/results/{published.slug}/?lang={language}").content.decode()
        switcher = _switcher(html)
        assert switcher.forms == 0
        assert [(href, lang) for href, lang, _ in switcher.links] == [
            (f"?lang={code}", code) for code in published.languages
        ]
        # The current language is marked, and only it.
        assert [lang for _, lang, current in switcher.links if current] == [language]
        assert re.search(r'<nav class="lang" aria-label="[^"]+">', html)
        for href, lang, _current in switcher.links:
            followed = _visitor().get(f"/results/{published.slug}/{href}").content.decode()
            assert f'<html lang="{lang}">' in followed
            assert f'hreflang="{lang}" aria-current="true">{names[lang]}</a>' in followed


def test_a_cached_page_reads_the_database_once(
    published: Survey, statistics_cache, django_assert_max_num_queries
) -> None:
    """The survey and its data version in one query; the page itself from the cache."""
    for language in ("en", "zh-hans"):
        url = f"/results/{published.slug}/?lang={language}"
        first = _visitor().get(url)
        with django_assert_max_num_queries(1):
            again = _visitor().get(url)
        assert again.content == first.content


def test_unpublishing_takes_the_cached_page_down_at_once(
    published: Survey, statistics_cache
) -> None:
    url = f"/results/{published.slug}/?lang=en"
    kept = _visitor().get(url)
    assert kept.status_code == 200
    Survey.objects.filter(pk=published.pk).update(public_statistics=False)
    assert _visitor().get(url).status_code == 404
    Survey.objects.filter(pk=published.pk).update(public_statistics=True, results_tables=[])
    assert _visitor().get(url).status_code == 404
    Survey.objects.filter(pk=published.pk).update(results_tables=published.results_tables[:1])
    # Published again with other tables: a page of its own, not the one kept before.
    again = _visitor().get(url)
    assert again.status_code == 200
    assert again.content != kept.content
    assert again.content.decode().count("<table") == 1


@override_settings(EXPOSURE_RESULTS_RECHECK_SECONDS=5)
def test_within_the_recheck_window_a_cached_page_reads_no_database(
    published: Survey, statistics_cache, monkeypatch, django_assert_num_queries
) -> None:
    """Each process reads the survey at most once per window: unpublishing reaches it by the
    window's end."""
    from surveys.results import selectors

    clock = [1000.0]
    monkeypatch.setattr(selectors, "_clock", lambda: clock[0])
    url = f"/results/{published.slug}/?lang=en"
    kept = _visitor().get(url)
    assert kept.status_code == 200
    with django_assert_num_queries(0):
        assert _visitor().get(url).content == kept.content
    Survey.objects.filter(pk=published.pk).update(public_statistics=False)
    clock[0] += 4.9
    assert _visitor().get(url).status_code == 200  # read 4.9 s ago: still published here
    clock[0] += 0.1
    assert _visitor().get(url).status_code == 404
    assert _visitor().get(f"/results/{published.slug}/data.json").status_code == 404


@override_settings(EXPOSURE_RATE_LIMIT="3/600")
def test_a_cached_page_is_still_counted_per_request(published: Survey, statistics_cache) -> None:
    client = _visitor()
    url = f"/results/{published.slug}/?lang=en"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    assert client.get(url).status_code == 429
    assert _visitor().get(url).status_code == 200


def test_a_page_is_kept_in_the_process_until_its_data_version_moves(
    published: Survey, statistics_cache
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.api.helpers import respond

    url = f"/results/{published.slug}/?lang=en"
    first = _visitor().get(url)
    statistics_cache.clear()  # the shared cache emptied: this process still holds the page
    with CaptureQueriesContext(connection) as queries:
        assert _visitor().get(url).content == first.content
    assert not [q for q in queries.captured_queries if "GROUP BY" in q["sql"].upper()]
    for _ in range(10):  # k submissions: the version moves on, and the counter with it
        respond(published, {"lost_work": True})
    after = _visitor().get(url).content.decode()
    assert "At least 70 people have answered so far." in after
    assert after != first.content.decode()


def test_the_process_cache_keeps_few_entries_and_each_until_its_expiry() -> None:
    from surveys.core.cached import ProcessCache

    now = [1000.0]
    kept = ProcessCache(entries=2, clock=lambda: now[0])
    kept.set("a", b"A", 60)
    kept.set("b", b"B", 60)
    assert kept.get("a") == b"A"  # used: "b" is now the oldest
    kept.set("c", b"C", 60)
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (b"A", None, b"C")
    now[0] += 60
    assert kept.get("a") is None and kept.get("c") is None
