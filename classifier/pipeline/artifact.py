"""Model artifacts: one file holding a readable metadata header and the pickled estimator.

Layout (all in a single file)::

    MAGIC (16 bytes) | header length (8 bytes, big-endian) | header (UTF-8 JSON) | payload

The payload is the joblib pickle of the fitted feature transformer, classifier and calibrator.
The header carries the metadata plus a SHA-256 of the payload and one of the header itself, so
:func:`read_metadata` and the version checks never unpickle anything, and any corruption or
tampering is reported as :class:`ArtifactError` before the payload is unpickled.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import struct
from typing import Any

import joblib
import sklearn

from .errors import ArtifactError
from .model import TextClassifier
from .training import FORMAT_VERSION

MAGIC = b"EXPOSURE-CLF\x00\x00\x00\x01"
_LENGTH = struct.Struct(">Q")
_MAX_HEADER = 64 * 1024 * 1024


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json_safe(value: Any) -> Any:
    """Return ``value`` with non-finite floats replaced by None so the header is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return _json_safe(value.item())
    return value


def _canonical(header: dict[str, Any]) -> bytes:
    body = {k: v for k, v in header.items() if k != "header_sha256"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, allow_nan=False).encode("utf-8")


def save(model: TextClassifier, path: str | os.PathLike[str]) -> str:
    """Write ``model`` to ``path`` as a single artifact file; return the payload's SHA-256."""
    if not isinstance(model, TextClassifier):
        raise ArtifactError(f"expected a TextClassifier, got {type(model).__name__}")
    buffer = io.BytesIO()
    joblib.dump(
        {"features": model.features, "estimator": model.estimator, "calibrator": model.calibrator},
        buffer,
    )
    payload = buffer.getvalue()
    checksum = _sha256(payload)
    header = dict(_json_safe(model.metadata))
    header.update(
        {
            "format_version": FORMAT_VERSION,
            "classes": list(model.classes),
            "multilabel": model.multilabel,
            "threshold": float(model.threshold),
            "sklearn_version": sklearn.__version__,
            "python_version": header.get("python_version", platform.python_version()),
            "payload_sha256": checksum,
            "payload_bytes": len(payload),
        }
    )
    header["header_sha256"] = _sha256(_canonical(header))
    header_bytes = json.dumps(header, ensure_ascii=False, allow_nan=False).encode("utf-8")
    tmp = f"{os.fspath(path)}.tmp-{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(MAGIC)
        fh.write(_LENGTH.pack(len(header_bytes)))
        fh.write(header_bytes)
        fh.write(payload)
    os.replace(tmp, path)
    return checksum


def _read(path: str | os.PathLike[str], *, with_payload: bool) -> tuple[dict[str, Any], bytes]:
    name = os.fspath(path)
    try:
        with open(name, "rb") as fh:
            magic = fh.read(len(MAGIC))
            if magic != MAGIC:
                raise ArtifactError(f"{name} is not a classifier artifact (unrecognised file type)")
            raw_len = fh.read(_LENGTH.size)
            if len(raw_len) != _LENGTH.size:
                raise ArtifactError(f"{name} is truncated (no header)")
            (length,) = _LENGTH.unpack(raw_len)
            if length > _MAX_HEADER:
                raise ArtifactError(f"{name} is corrupt (implausible header length {length})")
            header_bytes = fh.read(length)
            payload = fh.read() if with_payload else b""
    except FileNotFoundError as exc:
        raise ArtifactError(f"artifact not found: {name}") from exc
    except IsADirectoryError as exc:
        raise ArtifactError(f"artifact path is a directory: {name}") from exc
    except OSError as exc:
        raise ArtifactError(f"cannot read artifact {name}: {exc.strerror}") from exc
    if len(header_bytes) != length:
        raise ArtifactError(f"{name} is truncated (header incomplete)")
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{name} is corrupt (unreadable metadata header)") from exc
    if not isinstance(header, dict):
        raise ArtifactError(f"{name} is corrupt (metadata header is not an object)")
    return header, payload


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return an artifact's metadata header without unpickling the estimator."""
    return _read(path, with_payload=False)[0]


def _check_header(name: str, header: dict[str, Any]) -> None:
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise ArtifactError(
            f"{name} has artifact format version {version!r}; this code reads version "
            f"{FORMAT_VERSION}. Retrain the model."
        )
    made_with = header.get("sklearn_version")
    if made_with != sklearn.__version__:
        raise ArtifactError(
            f"{name} was made with scikit-learn {made_with}, but scikit-learn "
            f"{sklearn.__version__} is installed; retrain the model or install scikit-learn "
            f"{made_with}."
        )
    if header.get("header_sha256") != _sha256(_canonical(header)):
        raise ArtifactError(f"{name} failed its integrity check: the metadata header was altered")


def load(path: str | os.PathLike[str]) -> TextClassifier:
    """Load an artifact written by :func:`save`, verifying versions and checksums first."""
    name = os.fspath(path)
    header, payload = _read(path, with_payload=True)
    _check_header(name, header)
    if len(payload) != header.get("payload_bytes") or _sha256(payload) != header.get(
        "payload_sha256"
    ):
        raise ArtifactError(
            f"{name} failed its integrity check: the model payload checksum does not match "
            "(file corrupted or tampered with)"
        )
    try:
        parts = joblib.load(io.BytesIO(payload))
        features, estimator = parts["features"], parts["estimator"]
        calibrator = parts["calibrator"]
    except Exception as exc:  # any unpickling failure means an unusable file
        raise ArtifactError(f"{name}: cannot load the model payload ({exc})") from exc
    threshold = header["threshold"]
    return TextClassifier(
        features,
        estimator,
        calibrator,
        classes=header["classes"],
        multilabel=header["multilabel"],
        threshold=float(threshold),
        metadata=header,
    )
