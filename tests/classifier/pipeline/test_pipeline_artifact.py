"""Saving and loading model artifacts."""

from __future__ import annotations

import hashlib
import io
import json
import struct
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
import sklearn

from classifier.pipeline import (
    ArtifactError,
    TextClassifier,
    data_fingerprint,
    load,
    read_metadata,
    save,
)
from classifier.pipeline.artifact import MAGIC, _canonical

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


def _forge(path: Path, header: dict[str, Any], payload: bytes) -> None:
    """Write a file whose in-file checksums all agree, as a deliberate forger would."""
    header = dict(header, payload_sha256=hashlib.sha256(payload).hexdigest())
    header["payload_bytes"] = len(payload)
    header["header_sha256"] = hashlib.sha256(_canonical(header)).hexdigest()
    _write(path, header, payload)


class _CreatesMarker:
    """Unpickling this object opens (so creates) ``marker``: stands for arbitrary code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def _refuse_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a file that failed its checksum was unpickled")

    monkeypatch.setattr(joblib, "load", refuse)


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
    assert checksum == hashlib.sha256(path.read_bytes()).hexdigest()
    assert header["payload_sha256"] == hashlib.sha256(payload).hexdigest()
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


def test_load_with_the_recorded_checksum(trained_model: TextClassifier, tmp_path: Path) -> None:
    path = tmp_path / "model.clf"
    checksum = save(trained_model, path)
    loaded = load(path, expected_sha256=checksum)
    assert loaded.predict(PROBE) == trained_model.predict(PROBE)
    assert load(path, expected_sha256=f" {checksum.upper()} ").classes == trained_model.classes


@pytest.mark.parametrize("offset", [-100, len(MAGIC) + 8 + 5])
def test_changed_bytes_are_refused_before_unpickling(
    trained_model: TextClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offset: int
) -> None:
    path = tmp_path / "model.clf"
    checksum = save(trained_model, path)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    _refuse_unpickling(monkeypatch)
    with pytest.raises(ArtifactError, match="does not match the SHA-256 checksum recorded"):
        load(path, expected_sha256=checksum)


def test_consistently_rewritten_header_is_refused(
    trained_model: TextClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.clf"
    checksum = save(trained_model, path)
    header, payload = _split(path)
    _forge(path, dict(header, threshold=0.0), payload)
    assert load(path).threshold == 0.0  # the file's own checks cannot tell
    _refuse_unpickling(monkeypatch)
    with pytest.raises(ArtifactError, match="not unpickled"):
        load(path, expected_sha256=checksum)


def test_malicious_pickle_is_never_unpickled(trained_model: TextClassifier, tmp_path: Path) -> None:
    path = tmp_path / "model.clf"
    checksum = save(trained_model, path)
    header, _payload = _split(path)
    marker = tmp_path / "marker"
    buffer = io.BytesIO()
    joblib.dump({"features": _CreatesMarker(marker), "estimator": None, "calibrator": None}, buffer)
    _forge(path, header, buffer.getvalue())
    with pytest.raises(ArtifactError, match="does not match the SHA-256 checksum recorded"):
        load(path, expected_sha256=checksum)
    assert not marker.exists()
    # The forgery passes every check inside the file: only the recorded checksum stops it.
    load(path).features.close()
    assert marker.exists()


def test_missing_recorded_checksum_is_refused(
    trained_model: TextClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.clf"
    save(trained_model, path)
    _refuse_unpickling(monkeypatch)
    with pytest.raises(ArtifactError, match="no checksum was recorded"):
        load(path, expected_sha256="")


def test_artifact_from_before_provenance_still_loads(
    trained_model: TextClassifier, tmp_path: Path
) -> None:
    """Format 1 files written before the jieba version and data fingerprint were recorded."""
    path = tmp_path / "model.clf"
    save(trained_model, path)
    header, payload = _split(path)
    del header["jieba_version"], header["training_data"]
    _forge(path, header, payload)
    # Their database rows hold the payload's SHA-256, which still verifies the payload.
    loaded = load(path, expected_sha256=hashlib.sha256(payload).hexdigest())
    assert loaded.predict(PROBE) == trained_model.predict(PROBE)
    assert "jieba_version" not in loaded.metadata and "training_data" not in loaded.metadata


def test_newer_format_version_asks_for_an_upgrade(
    trained_model: TextClassifier, tmp_path: Path
) -> None:
    path = tmp_path / "model.clf"
    save(trained_model, path)
    header, payload = _split(path)
    _forge(path, dict(header, format_version=4), payload)
    with pytest.raises(ArtifactError, match=r"format version 4; .* versions 1, 2, 3\. Upgrade"):
        load(path)


def test_metadata_traces_the_model_to_its_data_and_tokenizer(
    trained_model: TextClassifier, bilingual_data: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    path = tmp_path / "model.clf"
    save(trained_model, path)
    md = read_metadata(path)
    texts, labels = bilingual_data
    assert md["jieba_version"] == metadata.version("jieba")
    assert md["training_data"] == data_fingerprint(texts, labels)
    assert md["training_data"]["rows"] == len(texts) == md["training_size"]
    assert md["sklearn_version"] == sklearn.__version__
