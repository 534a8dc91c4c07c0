"""Model artifacts: one file holding a readable metadata header and the pickled estimator.

Layout (all in a single file)::

    MAGIC (16 bytes) | header length (8 bytes, big-endian) | header (UTF-8 JSON) | payload

The payload is the joblib pickle of the fitted feature transformer, classifier and calibrator.
The header carries the metadata plus a SHA-256 of the payload and one of the header itself, so
:func:`read_metadata` and the version checks never unpickle anything, and accidental corruption
is reported as :class:`ArtifactError` before the payload is unpickled.

Those in-file checksums cannot stop a deliberate forgery (whoever rewrites the file rewrites them
too), and unpickling a forged payload runs the forger's code. So :func:`save` returns the SHA-256
of the whole file, which the caller keeps somewhere the file's writer cannot reach (a database
row), and :func:`load` given ``expected_sha256`` hashes the file's bytes and refuses a mismatch
before anything is unpickled. Checksums recorded before the whole file was hashed are payload
SHA-256s; they are still accepted, and then bind the payload only.

Format 2 adds the training data's script profile (``domain_profile``) used by the
out-of-distribution guard (:mod:`.ood`), and the feature config's ``encoder``. Format 1 files
still load: their guard takes the scripts from the fitted vocabulary instead. Format 3 models
with an encoder are two-view models (:class:`.fusion.LateFusion`, with the ``fusion`` settings in
the header); format 2 fused models (one linear model on TF-IDF and embedding columns) still load
and predict as they were trained.
"""

from __future__ import annotations

import hashlib
import hmac
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
from .ood import DomainProfile, profile_from_vocabulary, word_vocabulary
from .provenance import jieba_version
from .training import FORMAT_VERSION, READABLE_FORMATS

MAGIC = b"EXPOSURE-CLF\x00\x00\x00\x01"
_LENGTH = struct.Struct(">Q")
_PREFIX = len(MAGIC) + _LENGTH.size
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
    """Write ``model`` to ``path`` as a single artifact file; return the file's SHA-256."""
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
            # The tokenizer is not pickled: the version that segmented the training texts counts.
            "jieba_version": header.get("jieba_version", jieba_version()),
            "python_version": header.get("python_version", platform.python_version()),
            "payload_sha256": checksum,
            "payload_bytes": len(payload),
        }
    )
    header["header_sha256"] = _sha256(_canonical(header))
    header_bytes = json.dumps(header, ensure_ascii=False, allow_nan=False).encode("utf-8")
    data = MAGIC + _LENGTH.pack(len(header_bytes)) + header_bytes + payload
    tmp = f"{os.fspath(path)}.tmp-{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    return _sha256(data)


def _read_file(name: str, *, whole: bool) -> bytes:
    """Return the file's bytes, or only its magic, length and header (metadata reads)."""
    try:
        with open(name, "rb") as fh:
            if whole:
                return fh.read()
            head = fh.read(_PREFIX)
            if len(head) == _PREFIX and head[: len(MAGIC)] == MAGIC:
                (length,) = _LENGTH.unpack(head[len(MAGIC) :])
                if length <= _MAX_HEADER:
                    head += fh.read(length)
            return head
    except FileNotFoundError as exc:
        raise ArtifactError(f"artifact not found: {name}") from exc
    except IsADirectoryError as exc:
        raise ArtifactError(f"artifact path is a directory: {name}") from exc
    except OSError as exc:
        raise ArtifactError(f"cannot read artifact {name}: {exc.strerror}") from exc


def _parse(name: str, data: bytes) -> tuple[dict[str, Any], bytes]:
    """Split an artifact's bytes into its metadata header and its (still pickled) payload."""
    if data[: len(MAGIC)] != MAGIC:
        raise ArtifactError(f"{name} is not a classifier artifact (unrecognised file type)")
    if len(data) < _PREFIX:
        raise ArtifactError(f"{name} is truncated (no header)")
    (length,) = _LENGTH.unpack(data[len(MAGIC) : _PREFIX])
    if length > _MAX_HEADER:
        raise ArtifactError(f"{name} is corrupt (implausible header length {length})")
    header_bytes = data[_PREFIX : _PREFIX + length]
    if len(header_bytes) != length:
        raise ArtifactError(f"{name} is truncated (header incomplete)")
    return _decode_header(name, header_bytes), data[_PREFIX + length :]


def _decode_header(name: str, header_bytes: bytes) -> dict[str, Any]:
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{name} is corrupt (unreadable metadata header)") from exc
    if not isinstance(header, dict):
        raise ArtifactError(f"{name} is corrupt (metadata header is not an object)")
    return header


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return an artifact's metadata header without unpickling the estimator."""
    name = os.fspath(path)
    return _parse(name, _read_file(name, whole=False))[0]


def _check_header(name: str, header: dict[str, Any]) -> None:
    version = header.get("format_version")
    if version not in READABLE_FORMATS:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        advice = "Upgrade this code to read it." if newer else "Retrain the model."
        readable = ", ".join(str(v) for v in READABLE_FORMATS)
        raise ArtifactError(
            f"{name} has artifact format version {version!r}; this code reads versions "
            f"{readable}. {advice}"
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


def _check_expected(name: str, expected: str, data: bytes, payload: bytes) -> None:
    """Refuse the file unless its bytes, or for older records its payload, hash to ``expected``."""
    want = expected.strip().lower().encode("utf-8")
    if not want:
        raise ArtifactError(f"no checksum was recorded for {name}; refusing to unpickle it")
    # Both comparisons always run, in constant time, so timing tells nothing about the digest.
    whole = hmac.compare_digest(want, _sha256(data).encode("ascii"))
    legacy = hmac.compare_digest(want, _sha256(payload).encode("ascii"))
    if not (whole or legacy):
        raise ArtifactError(
            f"{name} does not match the SHA-256 checksum recorded for it (file replaced, corrupted "
            "or tampered with); it was not unpickled"
        )


def load(path: str | os.PathLike[str], *, expected_sha256: str | None = None) -> TextClassifier:
    """Load an artifact written by :func:`save`, checking checksums and versions before unpickling.

    ``expected_sha256`` is the value :func:`save` returned, kept where the file's writer cannot
    change it; a file whose bytes do not hash to it is refused without being unpickled. Without
    it only the file's own checksums are checked, which catch corruption but not forgery.
    """
    name = os.fspath(path)
    data = _read_file(name, whole=True)
    header, payload = _parse(name, data)
    if expected_sha256 is not None:
        _check_expected(name, expected_sha256, data, payload)
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
        profile=_profile(header, features),
    )


def _profile(header: dict[str, Any], features: Any) -> DomainProfile:
    """The stored training profile, or for format 1 files one read off the fitted vocabulary."""
    stored = header.get("domain_profile")
    if isinstance(stored, dict):
        return DomainProfile.from_dict(stored)
    return profile_from_vocabulary(word_vocabulary(features) or ())
