"""An export in Chinese is in Chinese throughout: codebook notes, headings, variable labels and
descriptions, and the writers' own notes; English exports keep their English wording."""

from __future__ import annotations

import json
import re

import pyreadstat
from django.utils import translation

from surveys.exports.codebook import library_texts
from surveys.exports.formats import FORMAT_NOTES, LIBRARY_TEXTS
from tests.exports.conftest import client_for, unzip

# Latin words of three letters or more, once names, codes and format names are taken out.
ENGLISH = re.compile(
    r"\b(?!(?:CSV|XLSX|SAV|DTA|SPSS|Stata|UTF|UTC|strL|cls|multi_flag|truncated|missing|provisional)\b)[A-Za-z]{3,}\b"
)


def _codebook(client, survey, fmt: str, language: str) -> str:  # type: ignore[no-untyped-def]
    answer = client.get(
        f"/exports/survey/{survey.slug}/codebook/", {"format": fmt, "language": language}
    )
    assert answer.status_code == 200
    return answer.content.decode("utf-8")


def test_every_text_of_the_writers_has_a_chinese_translation():
    texts = library_texts("zh-hans")
    untranslated = [text for text in LIBRARY_TEXTS if texts[text] == text]
    assert untranslated == []
    assert library_texts("en") == {text: text for text in LIBRARY_TEXTS}


def test_chinese_codebook_has_no_english_wording(population, people):  # type: ignore[no-untyped-def]
    data = json.loads(_codebook(client_for(people.viewer), population.survey, "json", "zh-hans"))
    english_notes = set(FORMAT_NOTES)
    assert data["format_notes"] and not english_notes & set(data["format_notes"])
    for note in [*data["notes"], *data["format_notes"]]:
        assert not ENGLISH.findall(note), note
    others = [v for v in data["variables"] if v["name"].endswith("_other_text")]
    assert others
    for variable in others:
        assert variable["label"].endswith("— 其他（请注明）"), variable["label"]
        assert "other (specified)" not in variable["label"]
    descriptions = {variable["description"] for variable in data["variables"]}
    assert "关于该份回答" in descriptions
    assert not {d for d in descriptions if re.match(r"About|Question|Derived", d)}
    markdown = _codebook(client_for(people.viewer), population.survey, "md", "zh-hans")
    assert "## 说明" in markdown and "## 变量" in markdown and "## Notes" not in markdown


def test_english_codebook_keeps_its_english_wording(population, people):  # type: ignore[no-untyped-def]
    data = json.loads(_codebook(client_for(people.viewer), population.survey, "json", "en"))
    assert data["format_notes"] == list(FORMAT_NOTES)
    others = [v["label"] for v in data["variables"] if v["name"].endswith("_other_text")]
    assert others and all(label.endswith("— other (specified)") for label in others)
    assert translation.get_language() == "en"  # the export did not leave its language active


def test_chinese_sav_job_notes_and_labels(population, people, run_export, export_dir):  # type: ignore[no-untyped-def]
    job = run_export(
        people.viewer, population.survey, format="sav", labels=False, language="zh-hans"
    )
    assert job.status == job.Status.DONE, job.error
    files = unzip((export_dir / job.file).read_bytes())
    sav = next(name for name in files if name.endswith(".sav"))
    path = export_dir / "back.sav"
    path.write_bytes(files[sav])
    _frame, meta = pyreadstat.read_sav(str(path), metadataonly=True)
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    other = [label for name, label in labels.items() if name.endswith("_other_text")]
    assert other and all("其他（请注明）" in label for label in other)
    notes = " ".join(meta.notes or [])
    assert "每份回答一行" in notes and "One row per response" not in notes
    html = next(content for name, content in files.items() if name.endswith(".html"))
    page = html.decode("utf-8")
    assert "<h2>说明</h2>" in page and "Datetimes are in UTC" not in page
