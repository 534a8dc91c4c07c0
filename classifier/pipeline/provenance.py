"""Where a model came from: the versions of the libraries it depends on and its training data.

The training-data fingerprint lets anyone holding a labelled file check whether a model was
trained on exactly those rows, without storing the texts in the artifact. It is the SHA-256 of
the UTF-8 bytes of one line per row, ``json.dumps([normalised text, [labels...]],
ensure_ascii=False, separators=(",", ":"))`` followed by ``"\\n"``, with the lines sorted, so the
order of the rows does not matter but every duplicate does. Texts are normalised as the model
sees them (:func:`.text.normalise`); labels are stripped, and for multi-label data de-duplicated
and sorted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from .errors import TrainingError
from .text import normalise

FINGERPRINT_METHOD = "sha256 of sorted JSON lines [normalised text, sorted labels]"


def jieba_version() -> str | None:
    """Return the installed jieba version (read from package metadata, so jieba is not imported)."""
    try:
        return metadata.version("jieba")
    except metadata.PackageNotFoundError:
        return None


def _label_list(label: Any, multilabel: bool) -> list[str]:
    if multilabel:
        return sorted({str(x).strip() for x in label if str(x).strip()})
    return [str(label).strip()]


def data_fingerprint(
    texts: Sequence[str], labels: Sequence[Any], *, multilabel: bool = False
) -> dict[str, Any]:
    """Return ``{"sha256", "rows", "method"}`` identifying a labelled data set in any row order."""
    if isinstance(texts, str) or len(texts) != len(labels):
        raise TrainingError("texts and labels must be sequences of the same length")
    lines = sorted(
        json.dumps(
            [normalise(str(text)), _label_list(label, multilabel)],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        + "\n"
        for text, label in zip(texts, labels, strict=True)
    )
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
    return {"sha256": digest.hexdigest(), "rows": len(lines), "method": FINGERPRINT_METHOD}
