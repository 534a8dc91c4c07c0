"""Coded reference lists: occupations (ISCO-08 with US SOC 2018) and countries (ISO 3166-1)."""

from __future__ import annotations

import gettext
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pycountry

from surveys.core.i18n import translate

OTHER = "other"
_HERE = Path(__file__).resolve().parent
# pycountry ships ISO 3166 names translated through gettext; our language codes map onto
# its locales.
_PYCOUNTRY_LOCALES = {"zh-hans": "zh_CN", "en": "en"}


@dataclass(frozen=True)
class Occupation:
    isco: str
    soc: tuple[str, ...]
    label: dict[str, str]
    group: dict[str, str]


@cache
def occupations() -> tuple[Occupation, ...]:
    """The coded occupation list, in file order."""
    data = json.loads((_HERE / "occupations.json").read_text(encoding="utf-8"))
    return tuple(
        Occupation(
            isco=item["isco"],
            soc=tuple(item["soc"]),
            label=item["label"],
            group=item.get("group", {}),
        )
        for item in data["occupations"]
    )


@cache
def occupation_codes() -> frozenset[str]:
    return frozenset(item.isco for item in occupations()) | {OTHER}


def occupation_label(code: str, language: str) -> str:
    """The occupation's title in `language` (the code itself when unknown)."""
    for item in occupations():
        if item.isco == code:
            return translate(item.label, language)
    return code


@cache
def country_codes() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


@cache
def countries(language: str) -> tuple[tuple[str, str], ...]:
    """(alpha-2 code, name in `language`) for every ISO 3166-1 country, sorted by name."""
    locale = _PYCOUNTRY_LOCALES.get(language, "en")
    translate_name: Callable[[str], str]
    try:
        names = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[locale])
        translate_name = names.gettext
    except OSError:
        translate_name = str

    def name(country: object) -> str:
        if locale == "en":
            return getattr(country, "common_name", None) or country.name  # type: ignore[attr-defined]
        return translate_name(country.name)  # type: ignore[attr-defined]

    pairs = [(country.alpha_2, name(country)) for country in pycountry.countries]
    return tuple(sorted(pairs, key=lambda pair: pair[1]))


def _title_key(title: str) -> str:
    """A job title as matched: case and spacing ignored, full-width brackets as ASCII."""
    folded = title.replace("（", "(").replace("）", ")")
    return " ".join(folded.casefold().split())


@cache
def occupation_titles(language: str) -> tuple[tuple[str, str], ...]:
    """(job title, ISCO code) for the occupation search: `language`'s titles first, each sorted.

    The other language's titles follow, so that a title typed in either language is offered;
    the occupation groups' own labels are titles too.
    """
    data = json.loads((_HERE / "occupation_titles.json").read_text(encoding="utf-8"))
    languages = [language, *(code for code in _PYCOUNTRY_LOCALES if code != language)]
    titles: list[tuple[str, str]] = []
    for code in languages:
        pairs = {(title, item["isco"]) for item in data["titles"] for title in item.get(code, [])}
        pairs |= {(o.label[code], o.isco) for o in occupations() if o.label.get(code)}
        titles += sorted(pairs, key=lambda pair: _title_key(pair[0]))
    return tuple(titles)


@cache
def _codes_by_title() -> dict[str, str]:
    return {_title_key(title): code for title, code in occupation_titles("en")}


def occupation_for_title(title: str) -> str | None:
    """The ISCO code of a job title from the search list (either language), else None."""
    return _codes_by_title().get(_title_key(title))
