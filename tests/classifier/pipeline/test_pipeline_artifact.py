"""Saving and loading model artifacts."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
import sklearn

from classifier.pipeline import ArtifactError, TextClassifier, load, read_metadata, save
from classifier.pipeline.artifact import MAGIC

PROBE = [
    "Lost clients and income dropped.",
    "工具提高效率\uff0c更快出草图\u3002",
    "Rigging lights on set.",
]


def _split(path: Path) -> tuple[dict[str, Any], bytes]:
    data = path.read_bytes()
    (length,) = struct.unpack(">Q", data[len(MAGIC) : len(MAGIC) + 8])
    start = len(MAGIC) + 8
    return json.loads(data[start : start + length]), data[start + length :]


def _write(path: Path, header: dict[str, Any], payload: bytes) -> None:
    raw = json.dumps(header).encode("utf-8")
    path.write_bytes(MAGIC + struct.pack(">Q", len(raw)) + raw + payload)


def test_round_trip_gives_identical_predictions(
    trained_model: TextClassifier, tmp_path: Path
) -> None:
    path = tmp_path / "model.clf"
    checksum = save(trained_model, path)
    loaded = load(path)
    assert loaded.classes == trained_model.classes
    assert loaded.threshold == trained_model.threshold
    assert loaded.multilabel is False
    assert np.array_equal(loaded.predict_proba(PROBE), trained_model.predict_proba(PROBE))
    assert loaded.predict(PROBE) == trained_model.predict(PROBE)
    header, payload = _split(path)
    assert checksum == header["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    assert loaded.metadata["metrics"] == json.loads(json.dumps(trained_model.metadata["metrics"]))


def test_multilabel_round_trip(tmp_path: Path, synth: Any) -> None:
    from classifier.pipeline import train

    texts, labels = synth.make_multilabel_data(120, seed=9)
    model = train(texts, labels, multilabel=True)
    save(model, tmp_path / "m.clf")
    loaded = load(tmp_path / "m.clf")
    assert loaded.multilabel
    assert loaded.predict(texts[:10]) == model.predict(texts[:10])


def test_read_metadata_does_not_unpickle(
    trained_model: TextClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.clf"
    save(trained_model, path)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("unpickled")

    monkeypatch.setattr(joblib, "load", refuse)
    md = read_metadata(path)
    for key in (
        "format_version",
        "codebook",
        "classes",
        "multilabel",
        "threshold",
        "target_precision",
        "training_size",
        "sklearn_version",
        "python_version",
        "created_at",
        "seed",
        "metrics",
        "payload_sha256",
    ):
        assert key in md
    assert md["sklearn_version"] == sklearn.__version__


def test_version_mismatch_names_both_versions(
    trained_model: TextClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.clf"
    save(trained_model, path)
    header, payload = _split(path)
    header["sklearn_version"] = "0.24.2"
    _write(path, header, payload)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the estimator must not be unpickled before the version check")

    monkeypatch.setattr(joblib, "load", refuse)
    with pytest.raises(ArtifactError) as info:
        load(path)
    assert "0.24.2" in str(info.value) and sklearn.__version__ in str(info.value)


def test_format_version_mismatch(trained_model: TextClassifier, tmp_path: Path) -> None:
    path = tmp_path / "model.clf"
    save(trained_model, path)
    header, payload = _split(path)
    header["format_version"] = 99
    _write(path, header, payload)
    with pytest.raises(ArtifactError, match="format version 99"):
        load(path)


def test_payload_tamper_is_detected(trained_model: TextClassifier, tmp_path: Path) -> None:
    path = tmp_path / "model.clf"
    save(trained_model, path)
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="checksum"):
        load(path)


def test_header_tamper_is_detected(trained_model: TextClassifier, tmp_path: Path) -> None:
    path = tmp_path / "model.clf"
    save(trained_model, path)
    header, payload = _split(path)
    header["threshold"] = 0.0
    _write(path, header, payload)
    with pytest.raises(ArtifactError, match="altered"):
        load(path)


def test_truncated_file(trained_model: TextClassifier, tmp_path: Path) -> None:
    path = tmp_path / "model.clf"
    save(trained_model, path)
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(ArtifactError, match="checksum"):
        load(path)
    path.write_bytes(path.read_bytes()[: len(MAGIC) + 4])
    with pytest.raises(ArtifactError, match="truncated"):
        load(path)


@pytest.mark.parametrize("content", [b"", b"not a model", b"\x80\x04\x95 pickle-ish bytes"])
def test_not_an_artifact(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.clf"
    path.write_bytes(content)
    with pytest.raises(ArtifactError, match="not a classifier artifact"):
        load(path)
    with pytest.raises(ArtifactError):
        read_metadata(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not found"):
        load(tmp_path / "absent.clf")


def test_save_rejects_other_objects(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError):
        save(object(), tmp_path / "x.clf")  # type: ignore[arg-type]
