"""The seed corpus of `occupation-isco`, generated from the occupation search's job titles.

Each title of `surveys/reference/occupation_titles.json` and each group label of
`occupations.json` is one row (text = the title, label = its ISCO-08 code), one CSV per
language. Regenerate after changing those files::

    python -m classifier.training.occupation_seed classifier/data/occupation-isco
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from surveys.reference import occupations

LANGUAGES = ("en", "zh-hans")
_TITLES = Path(__file__).resolve().parents[2] / "surveys" / "reference" / "occupation_titles.json"


def occupation_seed_rows(language: str) -> list[tuple[str, str]]:
    """(title, ISCO code) of one language, sorted; a title names one group only."""
    data = json.loads(_TITLES.read_text(encoding="utf-8"))
    pairs = {(title, item["isco"]) for item in data["titles"] for title in item.get(language, [])}
    pairs |= {(o.label[language], o.isco) for o in occupations() if o.label.get(language)}
    return sorted(pairs)


def occupation_seed_write(directory: Path) -> list[Path]:
    """Write `<language>.csv` (text, label) into `directory`; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for language in LANGUAGES:
        path = directory / f"{language}.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["text", "label"])
            writer.writerows(occupation_seed_rows(language))
        paths.append(path)
    return paths


if __name__ == "__main__":  # pragma: no cover
    for written in occupation_seed_write(Path(sys.argv[1])):
        print(written)
