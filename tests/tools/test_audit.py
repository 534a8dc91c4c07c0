"""The dependency audit's fallback, on canned PyPI JSON: no network in these tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tools import audit
from tools.audit import Pin, Report, advisory_verdict, check_pin, newest_patch, parse_requirements

# The shape of https://pypi.org/pypi/<name>/json, cut down to what the audit reads.
DJANGO_LIKE: dict[str, Any] = {
    "info": {"name": "Django", "version": "5.1.4"},
    "releases": {
        "4.2.9": [{"yanked": False}],
        "4.2.10": [{"yanked": False}],
        "4.2.11": [{"yanked": True}],  # yanked: not a release to move to
        "4.2.12rc1": [{"yanked": False}],  # pre-release: neither
        "5.1.3": [{"yanked": False}],
        "5.1.4": [{"yanked": False}],
        "6.0.0": [],  # no files
    },
    "vulnerabilities": [
        {
            "id": "PYSEC-2099-1",
            "aliases": ["CVE-2099-0001"],
            "fixed_in": ["4.2.10", "5.1.5"],
            "withdrawn": None,
        },
        {"id": "GHSA-none-fixed", "fixed_in": [], "withdrawn": None},
        {"id": "PYSEC-withdrawn", "fixed_in": ["9.9"], "withdrawn": "2099-01-01T00:00:00Z"},
    ],
}


def test_pins_are_read_from_requirement_files():
    text = (
        "# comment\n-r requirements.txt\ncelery[redis]==5.7.0\nDjango==5.2.19  # LTS\n"
        "psycopg[binary]==3.3.9 ; python_version >= '3.11'\nnot-pinned>=1\n\n"
    )
    assert parse_requirements(text) == [
        Pin("celery", "5.7.0"),
        Pin("django", "5.2.19"),
        Pin("psycopg", "3.3.9"),
    ]


@pytest.mark.parametrize(
    ("pinned", "verdict"),
    [
        ("4.2.9", "affected"),  # its series' fix is newer
        ("4.2.10", "unaffected"),
        ("5.1.4", "affected"),
        ("5.1.5", "unaffected"),
        ("3.2.1", "affected"),  # no fix in its series, older than every fix
        ("5.2.0", "unaffected"),  # newer than every fix
    ],
)
def test_an_advisory_says_from_its_fixed_versions_whether_a_pin_is_affected(pinned, verdict):
    assert advisory_verdict(pinned, DJANGO_LIKE["vulnerabilities"][0]) == verdict


def test_advisories_without_a_fix_are_unsure_and_withdrawn_ones_ignored():
    assert advisory_verdict("5.1.4", DJANGO_LIKE["vulnerabilities"][1]) == "unsure"
    assert advisory_verdict("1.0", DJANGO_LIKE["vulnerabilities"][2]) == "unaffected"


def test_the_newest_patch_release_skips_yanked_and_pre_releases():
    releases = DJANGO_LIKE["releases"]
    assert newest_patch("4.2.9", releases) == "4.2.10"
    assert newest_patch("4.2.10", releases) is None
    assert newest_patch("5.1.3", releases) == "5.1.4"
    assert newest_patch("6.0.0", releases) is None


def test_a_pin_is_reported_affected_unsure_and_behind():
    report = Report()
    check_pin(Pin("django", "5.1.3"), DJANGO_LIKE, report)
    assert report.checked == 1
    assert report.affected == ["django==5.1.3: PYSEC-2099-1 (fixed in 4.2.10, 5.1.5)"]
    assert report.unsure == ["django==5.1.3: GHSA-none-fixed (fixed in none yet)"]
    assert report.behind == ["django==5.1.3: 5.1.4 is out"]


@pytest.fixture
def requirements(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text("Django==5.1.3\nsix==1.17.0\n")
    return path


def _canned(url: str) -> Any:
    if url.endswith("/django/json"):
        return DJANGO_LIKE
    if url.endswith("/six/json"):
        return {"releases": {"1.17.0": [{"yanked": False}]}, "vulnerabilities": []}
    raise OSError("404: per-release JSON is not served here")


def test_the_fallback_says_what_it_checked_and_fails_on_an_affected_pin(
    monkeypatch, requirements, capsys
):
    monkeypatch.setattr(audit, "_get_json", _canned)
    monkeypatch.setattr(audit, "pip_audit_command", lambda: "/usr/bin/pip-audit")
    assert audit.main([str(requirements)]) == 1  # pip-audit's service does not answer: fallback
    out = capsys.readouterr().out
    assert "using the fallback" in out and "2 of 2 pins checked" in out
    assert "NOT checked: advisories fixed before" in out
    assert "Affected by a listed advisory: 1" in out and "Could not be fetched" in out


def test_offline_nothing_is_checked_and_lint_is_not_failed(monkeypatch, requirements, capsys):
    def offline(url: str) -> Any:
        raise OSError("network unreachable")

    monkeypatch.setattr(audit, "_get_json", offline)
    monkeypatch.setattr(audit, "pip_audit_command", lambda: None)
    assert audit.main([str(requirements)]) == 2
    assert audit.main(["--unreachable-ok", str(requirements)]) == 0
    out = capsys.readouterr().out
    assert "Nothing could be checked" in out and "Could not be fetched (not checked): 2" in out


def test_pip_audit_runs_when_its_service_answers(monkeypatch, requirements, capsys):
    calls: list[list[str]] = []

    class Done:
        returncode = 0

    monkeypatch.setattr(audit, "_get_json", lambda url: {"info": {}})
    monkeypatch.setattr(audit, "pip_audit_command", lambda: "/usr/bin/pip-audit")
    monkeypatch.setattr(
        audit.subprocess, "run", lambda command, check: calls.append(command) or Done()
    )
    assert audit.main([str(requirements)]) == 0
    assert calls and calls[0][0] == "/usr/bin/pip-audit" and str(requirements) in calls[0]
    assert "running the full audit" in capsys.readouterr().out
