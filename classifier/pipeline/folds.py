"""Grouped cross-validation folds: identical texts (after normalisation) share a fold."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

from .text import normalise

Split = tuple[np.ndarray, np.ndarray]


def group_ids(texts: Sequence[str]) -> np.ndarray:
    """Return an integer group id per text; texts equal after normalisation share an id."""
    ids: dict[str, int] = {}
    return np.array([ids.setdefault(normalise(t), len(ids)) for t in texts], dtype=np.int64)


def make_folds(
    texts: Sequence[str],
    strata: Sequence[str] | None,
    n_splits: int,
    seed: int,
) -> list[Split]:
    """Return ``n_splits`` (train, test) index pairs grouped by normalised text.

    With ``strata`` (one label, or one label-set key, per text) folds are stratified by
    StratifiedGroupKFold; otherwise GroupKFold is used. Both shuffle with ``seed``.
    """
    groups = group_ids(texts)
    n_groups = len(np.unique(groups))
    if n_splits < 2:
        raise ValueError("at least 2 folds are needed")
    if n_groups < n_splits:
        raise ValueError(
            f"{n_splits} folds need at least {n_splits} distinct texts, got {n_groups}"
        )
    x = np.zeros((len(texts), 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if strata is not None:
            splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
            splits = splitter.split(x, np.asarray(strata), groups)
        else:
            splitter_g = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
            splits = splitter_g.split(x, None, groups)
        return [(np.asarray(tr), np.asarray(te)) for tr, te in splits]
