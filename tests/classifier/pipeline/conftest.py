"""Synthetic English / Simplified Chinese data for the pipeline tests.

The pipeline is plain Python, so these tests need neither Django nor a database; the autouse
fixtures of the parent conftest that configure Django and Celery are shadowed here.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from classifier.pipeline import TextClassifier

_REPO_ROOT = str(Path(__file__).resolve().parents[3])
if _REPO_ROOT not in sys.path:  # so `classifier.pipeline` imports however pytest is started
    sys.path.insert(0, _REPO_ROOT)


def _words(text: str) -> list[str]:
    """Split a space-separated vocabulary string."""
    return text.split()


EN_VOCAB: dict[str, list[str]] = {
    "displaced": _words(
        "lost clients fired replaced contract cancelled income dropped laid off gone "
        "work dried up unemployed"
    ),
    "augmentation": _words(
        "faster helps tool drafts speeds workflow assist ideas prototype quicker "
        "boost productivity mockups iterate useful"
    ),
    "not-exposed": _words(
        "physical on set hands live stage crew rigging lighting carpentry props "
        "location weather craft manual"
    ),
}
ZH_VOCAB: dict[str, list[str]] = {
    "displaced": _words("失业 丢了 客户 裁员 收入 下降 取消 合同 没活 辞退"),
    "augmentation": _words("提高 效率 辅助 草图 更快 灵感 工具 帮助 省时 方便"),
    "not-exposed": _words("现场 搭建 灯光 道具 体力 舞台 剧组 手工 外景 木工"),
}
EN_FILLER = ["i", "the", "my", "this", "year", "and", "a", "we", "it", "really", "with", "for"]
ZH_FILLER = ["我", "今年", "我们", "这个", "的", "了", "就", "还是", "觉得", "一直"]
CLASSES = tuple(sorted(EN_VOCAB))


def make_sentence(rng: random.Random, label: str, lang: str) -> str:
    """Return one sentence for ``label`` built mostly from that class's vocabulary."""
    vocab, filler = (EN_VOCAB, EN_FILLER) if lang == "en" else (ZH_VOCAB, ZH_FILLER)
    words = rng.sample(vocab[label], 3) + rng.sample(filler, 3)
    rng.shuffle(words)
    if lang == "en":
        return " ".join(words).capitalize() + "."
    return "".join(words) + "。"


def make_data(
    n_per_class: int = 30,
    *,
    seed: int = 0,
    langs: tuple[str, ...] = ("en", "zh"),
    noise: float = 0.0,
) -> tuple[list[str], list[str]]:
    """Return (texts, labels) with ``n_per_class`` sentences per class and language."""
    rng = random.Random(seed)
    texts: list[str] = []
    labels: list[str] = []
    for lang in langs:
        for label in CLASSES:
            for _ in range(n_per_class):
                texts.append(make_sentence(rng, label, lang))
                shown = rng.choice(CLASSES) if rng.random() < noise else label
                labels.append(shown)
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [labels[i] for i in order]


def make_multilabel_data(n: int = 160, *, seed: int = 0) -> tuple[list[str], list[tuple[str, ...]]]:
    """Return texts mixing the vocabularies of zero, one or two classes, with their label sets."""
    rng = random.Random(seed)
    texts: list[str] = []
    labels: list[tuple[str, ...]] = []
    for i in range(n):
        lang = "en" if i % 2 else "zh"
        k = rng.choice([0, 1, 1, 2])
        chosen = tuple(sorted(rng.sample(CLASSES, k)))
        vocab, filler = (EN_VOCAB, EN_FILLER) if lang == "en" else (ZH_VOCAB, ZH_FILLER)
        words = rng.sample(filler, 4)
        for label in chosen:
            words += rng.sample(vocab[label], 3)
        rng.shuffle(words)
        texts.append((" " if lang == "en" else "").join(words))
        labels.append(chosen)
    return texts, labels


@pytest.fixture(autouse=True)
def classifier_settings() -> None:
    """Shadow the Django-settings fixture of tests/classifier: these tests need no Django."""


@pytest.fixture(autouse=True)
def _eager_unless_worker() -> None:
    """Shadow the Celery fixture of tests/classifier: these tests start no tasks."""


@pytest.fixture(scope="session")
def synth() -> SimpleNamespace:
    """Give tests the data generators (fixtures work under every pytest import mode)."""
    return SimpleNamespace(
        make_data=make_data,
        make_multilabel_data=make_multilabel_data,
        make_sentence=make_sentence,
        classes=CLASSES,
    )


@pytest.fixture(scope="session")
def bilingual_data() -> tuple[list[str], list[str]]:
    """Return a small learnable bilingual single-label data set."""
    return make_data(30, seed=1)


@pytest.fixture(scope="session")
def trained_model(bilingual_data: tuple[list[str], list[str]]) -> TextClassifier:
    """Return a single-label model trained once per session."""
    from classifier.pipeline import train

    texts, labels = bilingual_data
    return train(texts, labels, seed=0, codebook="displacement-risk")
