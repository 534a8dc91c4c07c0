"""The feature step of the fault tests' model artifacts: it records and can break predictions.

A real trained model is wrapped so that every worker process that predicts a batch appends the
texts to a log file (how often each text was predicted, and by which worker), a text carrying
BREAKS_THE_MODEL makes the transform raise (as a feature step with a bug for some input would),
and a text carrying SLOW makes it take a few seconds (a long batch to kill a worker in). The
artifact is written with pipeline.save and loaded by the worker through the product's loader.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BREAKS_THE_MODEL = "[[breaks-the-model]]"
SLOW = "[[slow]]"


class ProbeFeatures:
    """Delegates to the fitted feature transformer `inner`, logging and failing on markers."""

    def __init__(
        self, inner: Any, *, log: Path, slow_seconds: float = 4.0, delay: float = 0.0
    ) -> None:
        self.inner = inner
        self.log = str(log)
        self.slow_seconds = slow_seconds
        self.delay = delay

    def transform(self, texts: Sequence[str]) -> Any:
        texts = [str(text) for text in texts]
        for text in texts:
            if BREAKS_THE_MODEL in text:
                raise ValueError(f"the feature step cannot handle {text[:60]!r}")
        if any(SLOW in text for text in texts):
            time.sleep(self.slow_seconds)
        if self.delay:
            time.sleep(self.delay)
        features = self.inner.transform(texts)
        # Logged after the transform, so a worker killed during a batch logs nothing for it.
        line = json.dumps({"worker": os.environ.get("FAULTS_NODE", "?"), "texts": texts}) + "\n"
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))  # one O_APPEND write: lines never interleave
        finally:
            os.close(fd)
        return features


def read_log(path: Path) -> list[dict[str, Any]]:
    """The batches the probe logged, oldest first."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
