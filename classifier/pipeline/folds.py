"""Grouped cross-validation folds: identical texts (after normalisation) share a fold.

Callers may also pass their own groups (an occupation code, a respondent id): then every
member of a group shares a fold too, and a text repeated across groups joins the group it
appeared with first, so it still never sits on both sides of a split.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

from .text import normalise

Split = tuple[np.ndarray, np.ndarray]


def group_ids(texts: Sequence[str], groups: Sequence[Any] | None = None) -> np.ndarray:
    """Return an integer group id per text; equal texts (after normalisation) share an id.

    With ``groups``, texts of one group share an id as well (see the module docstring).
    """
    ids: dict[str, int] = {}
    if groups is None:
        return np.array([ids.setdefault(normalise(t), len(ids)) for t in texts], dtype=np.int64)
    first_group: dict[str, Any] = {}
    keys = [
        str(first_group.setdefault(normalise(t), g)) for t, g in zip(texts, groups, strict=True)
    ]
    return np.array([ids.setdefault(k, len(ids)) for k in keys], dtype=np.int64)


def make_folds(
    texts: Sequence[str],
    strata: Sequence[str] | None,
    n_splits: int,
    seed: int,
    *,
    groups: Sequence[Any] | np.ndarray | None = None,
) -> list[Split]:
    """Return ``n_splits`` (train, test) index pairs grouped by normalised text.

    With ``strata`` (one label, or one label-set key, per text) folds are stratified by
    StratifiedGroupKFold; otherwise GroupKFold is used. Both shuffle with ``seed``. ``groups``
    are group ids per text as :func:`group_ids` returns them (default: by normalised text).
    """
    group_arr = group_ids(texts) if groups is None else np.asarray(groups)
    n_groups = len(np.unique(group_arr))
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
            splits = splitter.split(x, np.asarray(strata), group_arr)
        else:
            splitter_g = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
            splits = splitter_g.split(x, None, group_arr)
        return [(np.asarray(tr), np.asarray(te)) for tr, te in splits]
