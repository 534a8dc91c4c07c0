"""Training data of a codebook: a given labelled CSV, else its seed corpus plus human labels."""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from classifier import pipeline
from classifier.errors import TrainingDataError
from classifier.models import Classification, Codebook


@dataclass
class TrainingData:
    texts: list[str] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)
    sources: dict[str, int] = field(default_factory=dict)

    def add(self, source: str, texts: Sequence[str], labels: Sequence[Any]) -> None:
        self.texts.extend(texts)
        self.labels.extend(labels)
        self.sources[source] = self.sources.get(source, 0) + len(texts)


def _label_column(path: Path) -> str:
    """'labels' when the CSV has that column (multi-label corpora), else 'label'."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError):
        return "label"  # the pipeline reader reports the problem with its row and byte
    return "labels" if "labels" in [h.strip() for h in header] else "label"


def _read_codebook_csv(
    *,
    codebook: Codebook,
    path: Path,
    text_column: str,
    label_column: str | None,
    check_counts: bool,
) -> tuple[list[str], list[Any]]:
    """Read one labelled CSV and check that every label is one of the codebook's codes."""
    texts, labels = pipeline.read_labelled_csv(
        path,
        text_column=text_column,
        label_column=label_column or _label_column(path),
        multilabel=codebook.multilabel,
        check_label_counts=check_counts,
    )
    codes = set(codebook.categories.values_list("code", flat=True))
    for row, label in enumerate(labels, start=1):
        for code in label if codebook.multilabel else (label,):
            if code not in codes:
                raise TrainingDataError(
                    f"{path.name}: row {row}: {code!r} is not a code of codebook "
                    f"{codebook.slug!r} (codes: {', '.join(sorted(codes))})"
                )
    return texts, labels


def _add_seed_corpus(data: TrainingData, *, codebook: Codebook, seed_dir: Path) -> None:
    for path in sorted(seed_dir.glob("*.csv")):
        # Label counts are checked on the combined data: a code rare in one language is fine.
        texts, labels = _read_codebook_csv(
            codebook=codebook,
            path=path,
            text_column="text",
            label_column=None,
            check_counts=False,
        )
        cap = settings.EXPOSURE_SEED_MAX_TEXTS
        if cap and len(texts) > cap:
            texts, labels = stratified_sample(texts, labels, size=cap)
            data.add(f"seed:{path.name} (stratified sample)", texts, labels)
        else:
            data.add(f"seed:{path.name}", texts, labels)


def stratified_sample(
    texts: Sequence[str], labels: Sequence[Any], *, size: int, seed: int = 0
) -> tuple[list[str], list[Any]]:
    """About `size` of the texts, each label keeping its share (at least one each); repeatable."""
    rng = random.Random(seed)  # nosec B311  # sampling, not security
    by_label: dict[Any, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    chosen: list[int] = []
    for _label, indices in sorted(by_label.items(), key=lambda item: str(item[0])):
        share = max(1, round(size * len(indices) / len(texts)))
        chosen += rng.sample(indices, min(share, len(indices)))
    chosen.sort()
    return [texts[i] for i in chosen], [labels[i] for i in chosen]


def _add_human_labels(data: TrainingData, *, codebook: Codebook) -> None:
    """The coders' labels of survey answers, each EXPOSURE_TRAIN_SURVEY_WEIGHT times.

    Audit-sample items are held out: they measure the model on its survey (realised precision,
    PPI shares, a new version's audit metrics), which a model trained on them would flatter.
    Identical texts share a cross-validation fold, so the repeats never leak across folds.
    """
    texts: list[str] = []
    labels: list[Any] = []
    for text, codes in Classification.objects.filter(
        codebook=codebook, source=Classification.Source.CODER, audit=False
    ).values_list("answer__text", "labels"):
        if not text.strip():
            continue
        if codebook.multilabel:
            labels.append(tuple(codes))
        elif codes:
            labels.append(codes[0])
        else:
            continue
        texts.append(text)
    weight = max(1, settings.EXPOSURE_TRAIN_SURVEY_WEIGHT)
    if texts:
        data.add(f"human labels x{weight}", texts * weight, labels * weight)


def codebook_training_data(
    *,
    codebook: Codebook,
    csv_path: Path | None = None,
    text_column: str = "text",
    label_column: str | None = None,
) -> TrainingData:
    """Texts and labels to train `codebook` on: a given CSV, else its seed corpus + human labels.

    Raises TrainingDataError (unknown code, no data) or pipeline.CsvError (unreadable CSV).
    """
    data = TrainingData()
    if csv_path is not None:
        texts, labels = _read_codebook_csv(
            codebook=codebook,
            path=csv_path,
            text_column=text_column,
            label_column=label_column,
            check_counts=True,
        )
        data.add(csv_path.name, texts, labels)
        return data
    seed_dir = Path(settings.EXPOSURE_SEED_DIR) / codebook.slug
    _add_seed_corpus(data, codebook=codebook, seed_dir=seed_dir)
    _add_human_labels(data, codebook=codebook)
    if not data.texts:
        raise TrainingDataError(
            f"no training data for codebook {codebook.slug!r}: no seed corpus in {seed_dir} "
            "and no human labels"
        )
    return data
