"""A model version's artifact is checked against its recorded checksum before it is unpickled."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import struct
from pathlib import Path
from typing import Any

import joblib
import pytest

from classifier import pipeline
from classifier.models import Classification, ModelVersion
from classifier.pipeline.artifact import MAGIC, _canonical
from classifier.runs import tasks
from classifier.training import selectors

pytestmark = pytest.mark.django_db

Status = Classification.Status


class _CreatesMarker:
    """Unpickling this object opens (so creates) ``marker``: stands for arbitrary code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def _own_copy(version: ModelVersion, tmp_path: Path) -> Path:
    """Point `version` at a private copy of its artifact (the session's files stay intact)."""
    copy = tmp_path / f"{version.codebook.slug}-copy.joblib"
    shutil.copyfile(version.artifact_path, copy)
    ModelVersion.objects.filter(pk=version.pk).update(artifact_path=str(copy))
    version.refresh_from_db()
    return copy


def _forge_malicious(path: Path, marker: Path) -> None:
    """Replace the payload with a malicious pickle and re-sign every checksum inside the file."""
    data = path.read_bytes()
    (length,) = struct.unpack(">Q", data[len(MAGIC) : len(MAGIC) + 8])
    header = json.loads(data[len(MAGIC) + 8 : len(MAGIC) + 8 + length])
    buffer = io.BytesIO()
    joblib.dump({"features": _CreatesMarker(marker), "estimator": None, "calibrator": None}, buffer)
    payload = buffer.getvalue()
    header.update(payload_sha256=hashlib.sha256(payload).hexdigest(), payload_bytes=len(payload))
    header["header_sha256"] = hashlib.sha256(_canonical(header)).hexdigest()
    raw = json.dumps(header).encode("utf-8")
    path.write_bytes(MAGIC + struct.pack(">Q", len(raw)) + raw + payload)


def test_recorded_checksum_is_of_the_whole_file(active_models):
    version = active_models["displacement-risk"]
    assert hashlib.sha256(Path(version.artifact_path).read_bytes()).hexdigest() == version.checksum
    model = selectors.model_version_load(version=version)
    assert model.predict(["I lost my biggest client"])[0].labels


def test_replaced_artifact_is_refused_and_never_unpickled(active_models, tmp_path):
    version = active_models["displacement-risk"]
    path = _own_copy(version, tmp_path)
    marker = tmp_path / "marker"
    _forge_malicious(path, marker)
    with pytest.raises(pipeline.ArtifactError, match="does not match the SHA-256 checksum"):
        selectors.model_version_load(version=version)
    assert not marker.exists()


def test_rows_under_a_replaced_artifact_fail_with_the_reason(submitted, active_models, tmp_path):
    response, _ = submitted()
    version = active_models["concerns"]
    marker = tmp_path / "marker"
    _forge_malicious(_own_copy(version, tmp_path), marker)
    selectors._MODEL_CACHE.clear()  # as in a worker started after the file was replaced
    row = Classification.objects.filter(answer__response=response, codebook__slug="concerns")[0]
    Classification.objects.filter(pk=row.pk).update(status=Status.PENDING)
    tasks.classify_batch([row.pk])
    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert "does not match the SHA-256 checksum" in row.error
    assert not marker.exists()


def test_version_recorded_with_a_payload_checksum_still_loads(active_models):
    """Versions trained before the whole file was hashed hold the payload's SHA-256."""
    version = active_models["concerns"]
    data = Path(version.artifact_path).read_bytes()
    (length,) = struct.unpack(">Q", data[len(MAGIC) : len(MAGIC) + 8])
    payload = data[len(MAGIC) + 8 + length :]
    legacy = hashlib.sha256(payload).hexdigest()
    assert legacy == pipeline.read_metadata(version.artifact_path)["payload_sha256"]
    ModelVersion.objects.filter(pk=version.pk).update(checksum=legacy)
    version.refresh_from_db()
    assert selectors.model_version_load(version=version).multilabel
