"""Audit the pinned requirements for known vulnerabilities; say what could and could not be checked.

With pip-audit installed and its data reachable (PyPI's per-release JSON and OSV), pip-audit checks
every pin against the advisories of that exact release: the full audit. Where only PyPI's
package-level JSON (https://pypi.org/pypi/<name>/json) answers, the fallback checks each pin
against the advisories PyPI lists for the package's *latest* release (flagging a pin when an
advisory's fixed versions show it is affected) and reports pins behind the newest patch release
of their series. It cannot see advisories that were fixed before the latest release, so it says
so; the full audit runs wherever pip-audit's service answers (`make audit` there).

Exit status: 0 nothing found, 1 a pin is affected by a listed advisory, 2 nothing could be
checked (no network), unless --unreachable-ok (then 0: `make lint` must not fail offline).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess  # nosec B404: runs pip-audit, a fixed command without a shell
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = [ROOT / "requirements.txt", ROOT / "requirements-dev.txt"]
PYPI = "https://pypi.org/pypi"
TIMEOUT = 15
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)")


@dataclass(frozen=True)
class Pin:
    name: str
    version: str


@dataclass
class Report:
    affected: list[str] = field(default_factory=list)
    unsure: list[str] = field(default_factory=list)
    behind: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    checked: int = 0


def parse_requirements(text: str) -> list[Pin]:
    """The `name==version` pins of a requirements file (options, includes and comments skipped)."""
    pins = []
    for line in text.splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins.append(Pin(match.group(1).lower(), match.group(2)))
    return pins


def _series(version: Version) -> tuple[int, ...]:
    return tuple(version.release[:2])


def _versions(texts: Iterable[str]) -> list[Version]:
    out = []
    for text in texts:
        try:
            out.append(Version(text))
        except InvalidVersion:
            continue
    return out


def advisory_verdict(pinned: str, advisory: Mapping[str, Any]) -> str:
    """'affected', 'unaffected' or 'unsure' for a pinned version and one PyPI advisory.

    An advisory's `fixed_in` lists the first fixed release of each series. The pin is affected
    when a fix in its own series is newer than it, or, with no fix in its series, when every fix
    is newer; with no fixed version at all nobody can tell from here.
    """
    if advisory.get("withdrawn"):
        return "unaffected"
    pin = Version(pinned)
    fixes = _versions(advisory.get("fixed_in") or [])
    if not fixes:
        return "unsure"
    same_series = [fix for fix in fixes if _series(fix) == _series(pin)]
    if same_series:
        return "affected" if pin < min(same_series) else "unaffected"
    return "affected" if pin < min(fixes) else "unaffected"


def newest_patch(pinned: str, releases: Mapping[str, Sequence[Mapping[str, Any]]]) -> str | None:
    """The newest final, not yanked release of the pin's series when it is newer than the pin."""
    pin = Version(pinned)
    candidates = [
        version
        for version in _versions(releases)
        if not version.is_prerelease
        and _series(version) == _series(pin)
        and any(not file.get("yanked") for file in releases[str(version)] or [])
    ]
    newest = max(candidates, default=None)
    return str(newest) if newest is not None and newest > pin else None


def check_pin(pin: Pin, payload: Mapping[str, Any], report: Report) -> None:
    """Add what the package-level JSON `payload` says about `pin` to `report`."""
    report.checked += 1
    for advisory in payload.get("vulnerabilities") or []:
        verdict = advisory_verdict(pin.version, advisory)
        ident = advisory.get("id", "?")
        fixed = ", ".join(advisory.get("fixed_in") or []) or "none yet"
        line = f"{pin.name}=={pin.version}: {ident} (fixed in {fixed})"
        if verdict == "affected":
            report.affected.append(line)
        elif verdict == "unsure":
            report.unsure.append(line)
    newer = newest_patch(pin.version, payload.get("releases") or {})
    if newer:
        report.behind.append(f"{pin.name}=={pin.version}: {newer} is out")


def _get_json(url: str) -> Any:
    if not url.startswith("https://"):
        raise ValueError(url)
    # https only (checked above): no file: or custom scheme can be opened.
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310  # nosec B310
        return json.load(answer)


def _fetch(pin: Pin) -> tuple[Pin, Any]:
    try:
        return pin, _get_json(f"{PYPI}/{pin.name}/json")
    except (OSError, ValueError, urllib.error.URLError):
        return pin, None


def fallback_audit(pins: Sequence[Pin]) -> Report:
    """The package-level check of every pin (network: one request per package)."""
    report = Report()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for pin, payload in pool.map(_fetch, pins):
            if payload is None:
                report.unreachable.append(f"{pin.name}=={pin.version}")
            else:
                check_pin(pin, payload, report)
    return report


def pip_audit_command() -> str | None:
    """pip-audit beside this Python (the project's virtualenv), else on PATH; None if absent."""
    beside = Path(sys.executable).parent / "pip-audit"
    return str(beside) if beside.is_file() else shutil.which("pip-audit")


def pip_audit_usable(pins: Sequence[Pin]) -> bool:
    """pip-audit is installed and the per-release JSON it needs answers."""
    if pip_audit_command() is None or not pins:
        return False
    try:
        _get_json(f"{PYPI}/{pins[0].name}/{pins[0].version}/json")
    except (OSError, ValueError, urllib.error.URLError):
        return False
    return True


def print_report(report: Report, total: int) -> None:
    print(f"Fallback audit: {report.checked} of {total} pins checked against PyPI's package JSON.")
    print(
        "  Checked: the advisories PyPI lists for each package's latest release, and whether a\n"
        "  newer patch release of each pin's series exists. NOT checked: advisories fixed before\n"
        "  the latest release (PyPI's per-release JSON and OSV do not answer here); run\n"
        "  `make audit` where they do for the full pip-audit check."
    )
    sections = [
        ("Affected by a listed advisory", report.affected),
        ("Listed advisory with no fixed version (check by hand)", report.unsure),
        ("Behind the newest patch release of their series", report.behind),
        ("Could not be fetched (not checked)", report.unreachable),
    ]
    for title, lines in sections:
        print(f"{title}: {len(lines)}")
        for line in sorted(lines):
            print(f"  - {line}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unreachable-ok", action="store_true", help="exit 0 when offline")
    parser.add_argument("requirements", nargs="*", type=Path, default=REQUIREMENTS)
    args = parser.parse_args(argv)
    pins = sorted(
        {pin for path in args.requirements for pin in parse_requirements(path.read_text())},
        key=lambda pin: pin.name,
    )
    if pip_audit_usable(pins):
        print("pip-audit's service answers: running the full audit.")
        command = [
            str(pip_audit_command()),
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
        ]
        for path in args.requirements:
            command += ["-r", str(path)]
        # A fixed argv (pip-audit and our requirement files), no shell.
        return subprocess.run(command, check=False).returncode  # noqa: S603  # nosec B603
    print("pip-audit is not installed or its service does not answer: using the fallback.")
    report = fallback_audit(pins)
    print_report(report, len(pins))
    if report.checked == 0:
        print("Nothing could be checked: PyPI did not answer.")
        return 0 if args.unreachable_ok else 2
    return 1 if report.affected else 0


if __name__ == "__main__":
    sys.exit(main())
