"""Aggregate statistics for publication: intervals, weights, tables and disclosure control.

Plain functions over plain data (numpy and scipy only, no Django), so the API, the exports and an
analyst's notebook compute the same figures from the same code.

Conventions shared by every function here:

* Weights are survey weights (for example from `poststratification_weights`), not frequency
  weights: a weighted proportion or mean is a ratio estimator, its uncertainty uses the Kish
  effective sample size or a linearisation standard error, never the sum of the weights.
* Undefined quantities are `None`, never NaN, so every `as_dict()` is strict JSON.
* Percentages and their intervals are on the 0-100 scale; `wilson_interval` works on 0-1.
* A table is built from one value per respondent (`frequency_table`, `crosstab`) or from counts
  per cell, with weight sums and sums of squared weights when weighted
  (`frequency_table_from_counts`, `crosstab_from_counts`): the same figures either way, but the
  second costs in proportion to the number of cells rather than of respondents.

Disclosure control (`suppress`, `suppress_one_way`) works on unweighted counts, because the risk
is about how many people are in a cell. The rule, in full:

1. Primary: every cell and every total with 0 < n < k is suppressed. Zeros are not suppressed:
   a zero says nobody is in the cell, which is no one's disclosure, and hiding zeros would hide
   most of a sparse table. Zeros are never used as complementary suppressions either: a
   suppressed zero can be recognised as the only value that keeps a line consistent, and keeping
   every suppressed value at least 1 is what lets the argument in step 3 guarantee a range.
2. Complementary, repeated until nothing changes: a row or column whose total is published and
   which holds exactly one suppressed cell gets its smallest published non-zero cell suppressed
   too (ties: the first); with no such cell, its total is suppressed instead. Likewise, when the
   grand total is published and exactly one row total (column total) is suppressed, the smallest
   published non-zero row total (column total) is suppressed, or else the grand total.
3. Closure: step 2 stops any single-line subtraction, but a suppressed cell can still be pinned
   by combining lines (a "bridge" between two blocks of suppressions). Think of the table as a
   bipartite graph whose vertices are the rows, the columns, a row-margin vertex and a
   column-margin vertex, and whose edges are the suppressed items (cell i,j joins row i and
   column j; row total i joins row i and the row margin; column total j joins column j and the
   column margin; the grand total joins the two margins). Every published relation "a total is
   the sum of its parts" is a conservation law at one vertex, so the suppressed values can move
   by +1/-1 alternately around any cycle of suppressed items while matching everything
   published; since every suppressed value is at least 1 this stays non-negative. An item on no
   cycle (a bridge) is determined exactly by the published figures. So while any suppressed item
   is a bridge, one more published non-zero item joining the bridge's two sides is suppressed,
   preferring one that closes the cycle at once, then cells over totals, then the smallest count;
   step 2 then runs again. Suppressing every non-zero item leaves no bridge, so this ends.

The result: no published cell or total has 0 < n < k, every line with a published total holds 0 or
at least 2 suppressed cells, the same holds for the margins against a published grand total, and
every suppressed cell and total takes at least two different non-negative integer values among
the tables consistent with what is published.
"""

from __future__ import annotations

import functools
import math
from collections import Counter, deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeAlias, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

MIN_K = 5

BoolArray: TypeAlias = NDArray[np.bool_]
IntArray: TypeAlias = NDArray[np.int64]
FloatArray: TypeAlias = NDArray[np.float64]


# --- validation helpers -------------------------------------------------------------------------


def _check_confidence(confidence: float) -> None:
    if not (isinstance(confidence, int | float) and 0 < confidence < 1):
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < MIN_K:
        raise ValueError(f"k must be at least {MIN_K} (an integer), got {k!r}")


def _weights_array(weights: Iterable[float], *, positive: bool) -> FloatArray:
    w = np.asarray(list(weights) if not isinstance(weights, np.ndarray) else weights, dtype=float)
    if w.ndim != 1:
        raise ValueError("weights must be one-dimensional")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite numbers")
    if positive and np.any(w <= 0):
        raise ValueError("weights must be positive")
    if np.any(w < 0):
        raise ValueError("weights must not be negative")
    return w


def _aligned_weights(weights: Sequence[float] | None, n: int) -> FloatArray | None:
    if weights is None:
        return None
    w = _weights_array(weights, positive=True)
    if w.shape[0] != n:
        raise ValueError(f"got {w.shape[0]} weights for {n} values")
    return w


# --- intervals and effective sample size --------------------------------------------------------


def wilson_interval(
    successes: float, n: float, *, confidence: float = 0.95
) -> tuple[float, float] | None:
    """Wilson score interval for the proportion successes/n (0-1 scale); None when n == 0.

    n may be fractional (a Kish effective sample size, with successes = proportion * n). With no
    observations there is no interval, so None rather than NaN, and nothing is divided by zero.
    """
    _check_confidence(confidence)
    if not (math.isfinite(successes) and math.isfinite(n)):
        raise ValueError("successes and n must be finite")
    if n < 0:
        raise ValueError(f"n must not be negative, got {n!r}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie between 0 and n, got {successes!r} of {n!r}")
    if n == 0:
        return None
    z = _normal_quantile(confidence)
    z2 = z * z
    p = successes / n
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # The interval always contains p, and is exactly [0, ..] at p = 0 and [.., 1] at p = 1;
    # rounding can land a hair outside either, so pin those facts down.
    low = 0.0 if successes == 0 else max(0.0, min(p, centre - half))
    high = 1.0 if successes == n else min(1.0, max(p, centre + half))
    return low, high


@functools.lru_cache(maxsize=64)
def _normal_quantile(confidence: float) -> float:
    """The two-sided normal critical value; cached, since a table asks for it once per cell."""
    return float(stats.norm.isf((1 - confidence) / 2.0))


def kish_effective_n(weights: Sequence[float] | ArrayLike) -> float:
    """Kish effective sample size (sum w)^2 / sum w^2; 0.0 for no weights or all-zero weights."""
    w = _weights_array(weights, positive=False)  # type: ignore[arg-type]
    total = float(w.sum())
    if total == 0:
        return 0.0
    return total * total / float(np.dot(w, w))


@dataclass(frozen=True)
class MeanEstimate:
    """A mean with its confidence interval; low/high are None when no interval is defined."""

    mean: float | None
    low: float | None
    high: float | None
    n: int
    sd: float | None
    n_effective: float
    confidence: float
    weighted: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict of every field."""
        return asdict(self)


def mean_interval(
    values: Sequence[float | None],
    weights: Sequence[float] | None = None,
    *,
    confidence: float = 0.95,
) -> MeanEstimate:
    """Mean with a t-interval; weighted: ratio mean, linearisation SE, df = Kish n - 1.

    None values are missing and dropped together with their weights. Unweighted: sample sd
    (ddof=1), se = sd / sqrt(n), t with n - 1 df. Weighted (sampling weights, all positive):
    mean = sum(w y) / sum(w); se^2 = n / (n - 1) * sum(w^2 (y - mean)^2) / sum(w)^2, the Taylor
    linearisation of the ratio estimator (what R's survey::svymean reports for a design with
    only weights); sd = sqrt(n / (n - 1) * sum(w (y - mean)^2) / sum(w)); t with Kish n - 1 df.
    The interval is None with fewer than two observations, or (weighted) a Kish n below 2.
    """
    _check_confidence(confidence)
    w_all = _aligned_weights(weights, len(values))
    keep = [i for i, v in enumerate(values) if v is not None]
    y = np.asarray([values[i] for i in keep], dtype=float)
    if not np.all(np.isfinite(y)):
        raise ValueError("values must be finite numbers or None")
    n = int(y.shape[0])
    weighted = w_all is not None
    if n == 0:
        return MeanEstimate(None, None, None, 0, None, 0.0, confidence, weighted)
    if w_all is None:
        mean = float(np.mean(y))
        n_eff = float(n)
        sd = float(np.std(y, ddof=1)) if n >= 2 else None
        se = sd / math.sqrt(n) if sd is not None else None
    else:
        w = w_all[keep]
        total = float(w.sum())
        mean = float(np.dot(y, w) / total)
        n_eff = kish_effective_n(w)
        sd = se = None
        if n >= 2:
            resid = y - mean
            inflate = n / (n - 1)
            sd = math.sqrt(inflate * float(np.dot(w, resid * resid)) / total)
            se = math.sqrt(inflate * float(np.sum((w * resid) ** 2))) / total
    df = n_eff - 1
    if se is None or df < 1:
        return MeanEstimate(mean, None, None, n, sd, n_eff, confidence, weighted)
    q = float(stats.t.isf((1 - confidence) / 2.0, df))
    return MeanEstimate(mean, mean - q * se, mean + q * se, n, sd, n_eff, confidence, weighted)


# --- weighting ----------------------------------------------------------------------------------


def poststratification_weights(strata: Sequence[str], targets: Mapping[str, float]) -> list[float]:
    """Per-respondent weights target share / sample share of the stratum; they average 1.

    Targets are normalised to sum to 1. Raises ValueError for respondents in strata missing from
    the targets, for a stratum with a positive target but no respondents (its share could not be
    reached), and for respondents in a stratum whose target share is zero.
    """
    factor = poststratification_factors(Counter(strata), targets)
    return [factor[s] for s in strata]


def poststratification_factors(
    strata_counts: Mapping[str, int], targets: Mapping[str, float]
) -> dict[str, float]:
    """The weight of each stratum's respondents, from the number of respondents per stratum.

    The same weights as `poststratification_weights` (which is this, applied per respondent),
    and the same errors; strata with a zero count are taken as absent.
    """
    counts = {}
    for name, count in strata_counts.items():
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
            raise ValueError(f"count of stratum {name!r} must be a non-negative integer")
        if count:
            counts[name] = int(count)
    if not counts:
        raise ValueError("no respondents to weight")
    shares = dict(targets)
    for name, value in shares.items():
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ValueError(f"target for stratum {name!r} must be a non-negative number")
    total = math.fsum(shares.values())
    if total <= 0:
        raise ValueError("targets must have a positive sum")
    unknown = sorted((s for s in counts if s not in shares), key=str)
    if unknown:
        raise ValueError(f"respondents in strata missing from the targets: {_names(unknown)}")
    empty = sorted((s for s, t in shares.items() if t > 0 and s not in counts), key=str)
    if empty:
        raise ValueError(f"target strata with no respondents: {_names(empty)}")
    zero = sorted((s for s in counts if shares[s] == 0), key=str)
    if zero:
        raise ValueError(f"respondents in strata with a zero target share: {_names(zero)}")
    n = sum(counts.values())
    return {s: (shares[s] / total) * n / c for s, c in counts.items()}


def _names(items: Iterable[object]) -> str:
    return ", ".join(repr(item) for item in items)


# --- disclosure control -------------------------------------------------------------------------


def _as_counts(counts: ArrayLike, ndim: int) -> IntArray:
    array = np.asarray(counts)
    if array.ndim != ndim:
        raise ValueError(f"counts must be a {ndim}-dimensional array, got {array.ndim} dimensions")
    if array.size and not np.issubdtype(array.dtype, np.number):
        raise ValueError("counts must be numbers")
    as_int = array.astype(np.int64)
    if array.size and (np.any(as_int != array) or np.any(as_int < 0)):
        raise ValueError("counts must be non-negative integers")
    return as_int


@dataclass(frozen=True, eq=False)
class Suppression:
    """What a two-way table withholds (True = suppressed) in its cells, margins and grand total."""

    cells: BoolArray
    row_totals: BoolArray
    col_totals: BoolArray
    grand_total: bool

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Suppression):
            return NotImplemented
        return (
            np.array_equal(self.cells, other.cells)
            and np.array_equal(self.row_totals, other.row_totals)
            and np.array_equal(self.col_totals, other.col_totals)
            and self.grand_total == other.grand_total
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-able masks as nested lists of booleans."""
        return {
            "cells": self.cells.tolist(),
            "row_totals": self.row_totals.tolist(),
            "col_totals": self.col_totals.tolist(),
            "grand_total": bool(self.grand_total),
        }


@dataclass(frozen=True, eq=False)
class OneWaySuppression:
    """What a one-way table withholds (True = suppressed) in its cells and its total."""

    cells: BoolArray
    total: bool

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OneWaySuppression):
            return NotImplemented
        return np.array_equal(self.cells, other.cells) and self.total == other.total

    def as_dict(self) -> dict[str, Any]:
        """JSON-able masks."""
        return {"cells": self.cells.tolist(), "total": bool(self.total)}


def _smallest(values: IntArray, candidates: IntArray) -> int:
    """Index (into values) of the smallest candidate; the first on ties."""
    return int(candidates[np.argmin(values[candidates])])


def suppress_one_way(
    counts: ArrayLike, *, k: int, initial: OneWaySuppression | None = None
) -> OneWaySuppression:
    """Suppression mask for a one-way table of counts (see the module docstring for the rule).

    Cells and a total with 0 < n < k are suppressed; with the total published, a lone suppressed
    cell takes the next smallest non-zero cell with it (else the total goes); a suppressed total
    with every cell published gets its smallest non-zero cell suppressed. `initial` adds
    suppressions made for other reasons; they are never lifted.
    """
    _check_k(k)
    x = _as_counts(counts, 1)
    total = int(x.sum())
    cells = (x > 0) & (x < k)
    total_hidden = 0 < total < k
    if initial is not None:
        if initial.cells.shape != x.shape:
            raise ValueError("initial suppression does not match the table's shape")
        if np.any(initial.cells & (x == 0)) or (initial.total and total == 0):
            raise ValueError("zero counts cannot be suppressed")
        cells = cells | initial.cells
        total_hidden = total_hidden or bool(initial.total)
    open_cells = np.flatnonzero((x > 0) & ~cells)
    if not total_hidden and cells.sum() == 1:
        if open_cells.size:
            cells[_smallest(x, open_cells)] = True
        else:
            total_hidden = True
    elif total_hidden and cells.sum() == 0 and open_cells.size:
        cells[_smallest(x, open_cells)] = True
    return OneWaySuppression(cells=cells, total=bool(total_hidden))


class _TwoWay:
    """Mutable suppression state of a two-way table while the rules run."""

    def __init__(self, x: IntArray, k: int) -> None:
        self.x = x
        self.rows = x.sum(axis=1)
        self.cols = x.sum(axis=0)
        self.grand = int(x.sum())
        self.cells = (x > 0) & (x < k)
        self.row_hidden = (self.rows > 0) & (self.rows < k)
        self.col_hidden = (self.cols > 0) & (self.cols < k)
        self.grand_hidden = 0 < self.grand < k

    def line_rules(self) -> bool:
        """Step 2 of the rule, one sweep; True if anything was suppressed."""
        changed = False
        x, cells = self.x, self.cells
        for i in range(x.shape[0]):
            if not self.row_hidden[i] and cells[i].sum() == 1:
                open_cells = np.flatnonzero((x[i] > 0) & ~cells[i])
                if open_cells.size:
                    cells[i, _smallest(x[i], open_cells)] = True
                else:
                    self.row_hidden[i] = True
                changed = True
        for j in range(x.shape[1]):
            if not self.col_hidden[j] and cells[:, j].sum() == 1:
                open_cells = np.flatnonzero((x[:, j] > 0) & ~cells[:, j])
                if open_cells.size:
                    cells[_smallest(x[:, j], open_cells), j] = True
                else:
                    self.col_hidden[j] = True
                changed = True
        for totals, hidden in ((self.rows, self.row_hidden), (self.cols, self.col_hidden)):
            if not self.grand_hidden and hidden.sum() == 1:
                open_totals = np.flatnonzero((totals > 0) & ~hidden)
                if open_totals.size:
                    hidden[_smallest(totals, open_totals)] = True
                else:
                    self.grand_hidden = True
                changed = True
        return changed

    # Vertices: rows 0..r-1, columns r..r+c-1, row margin r+c, column margin r+c+1.
    # Items: ("cell", i, j), ("row", i, -1), ("col", j, -1), ("grand", -1, -1).

    def _ends(self, item: tuple[str, int, int]) -> tuple[int, int]:
        r, c = self.x.shape
        kind, a, b = item
        if kind == "cell":
            return a, r + b
        if kind == "row":
            return a, r + c
        if kind == "col":
            return r + a, r + c + 1
        return r + c, r + c + 1

    def _value(self, item: tuple[str, int, int]) -> int:
        kind, a, b = item
        if kind == "cell":
            return int(self.x[a, b])
        if kind == "row":
            return int(self.rows[a])
        if kind == "col":
            return int(self.cols[a])
        return self.grand

    def _items(self, hidden: bool) -> list[tuple[str, int, int]]:
        """Non-zero items that are suppressed (hidden=True) or published (hidden=False)."""
        x = self.x
        items: list[tuple[str, int, int]] = [
            ("cell", int(i), int(j))
            for i, j in zip(*np.nonzero((x > 0) & (self.cells == hidden)), strict=True)
        ]
        items += [
            ("row", int(i), -1)
            for i in np.flatnonzero((self.rows > 0) & (self.row_hidden == hidden))
        ]
        items += [
            ("col", int(j), -1)
            for j in np.flatnonzero((self.cols > 0) & (self.col_hidden == hidden))
        ]
        if self.grand > 0 and self.grand_hidden == hidden:
            items.append(("grand", -1, -1))
        return items

    def close_a_bridge(self) -> bool:
        """Step 3 of the rule for one bridge; False when no suppressed item is a bridge."""
        r, c = self.x.shape
        vertices = r + c + 2
        hidden = self._items(True)
        edges = [self._ends(item) for item in hidden]
        found = _bridges(vertices, edges)
        if not found:
            return False
        bridge = found[0]
        u, v = edges[bridge]
        side_u = _component(vertices, edges, u, skip=bridge)
        side_v = _component(vertices, edges, v, skip=bridge)
        best: tuple[tuple[int, int, int, int], tuple[str, int, int]] | None = None
        for order, item in enumerate(self._items(False)):
            a, b = self._ends(item)
            crosses_u = (a in side_u) != (b in side_u)
            crosses_v = (a in side_v) != (b in side_v)
            if not (crosses_u or crosses_v):
                continue
            closes = (a in side_u and b in side_v) or (a in side_v and b in side_u)
            key = (0 if closes else 1, 0 if item[0] == "cell" else 1, self._value(item), order)
            if best is None or key < best[0]:
                best = (key, item)
        if best is None:  # pragma: no cover - impossible: the table of non-zero items has no bridge
            raise RuntimeError("no complementary suppression closes a bridge")
        kind, a, b = best[1]
        if kind == "cell":
            self.cells[a, b] = True
        elif kind == "row":
            self.row_hidden[a] = True
        elif kind == "col":
            self.col_hidden[a] = True
        else:
            self.grand_hidden = True
        return True


def _bridges(vertices: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """Indices of the bridges of an undirected multigraph (iterative Tarjan), in found order."""
    adjacency: list[list[tuple[int, int]]] = [[] for _ in range(vertices)]
    for index, (a, b) in enumerate(edges):
        adjacency[a].append((b, index))
        adjacency[b].append((a, index))
    discovered = [-1] * vertices
    low = [0] * vertices
    clock = 0
    bridges: list[int] = []
    for root in range(vertices):
        if discovered[root] != -1:
            continue
        discovered[root] = low[root] = clock
        clock += 1
        stack = [(root, -1, iter(adjacency[root]))]
        while stack:
            vertex, via, neighbours = stack[-1]
            for neighbour, index in neighbours:
                if index == via:
                    continue
                if discovered[neighbour] == -1:
                    discovered[neighbour] = low[neighbour] = clock
                    clock += 1
                    stack.append((neighbour, index, iter(adjacency[neighbour])))
                    break
                low[vertex] = min(low[vertex], discovered[neighbour])
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[vertex])
                    if low[vertex] > discovered[parent]:
                        bridges.append(via)
    return sorted(bridges)


def _component(
    vertices: int, edges: Sequence[tuple[int, int]], start: int, *, skip: int
) -> set[int]:
    """Vertices reachable from start without using edge `skip`."""
    adjacency: list[list[int]] = [[] for _ in range(vertices)]
    for index, (a, b) in enumerate(edges):
        if index != skip:
            adjacency[a].append(b)
            adjacency[b].append(a)
    seen = {start}
    queue = deque([start])
    while queue:
        for neighbour in adjacency[queue.popleft()]:
            if neighbour not in seen:
                seen.add(neighbour)
                queue.append(neighbour)
    return seen


def suppress(counts: ArrayLike, *, k: int, initial: Suppression | None = None) -> Suppression:
    """Primary and complementary suppression masks for a two-way table of counts.

    The rule is spelt out in the module docstring. `initial` adds suppressions made for other
    reasons (another table sharing a margin, say); they are never lifted and must not be zeros.
    Passing a result back as `initial` returns it unchanged.
    """
    _check_k(k)
    x = _as_counts(counts, 2)
    state = _TwoWay(x, k)
    if initial is not None:
        if (
            initial.cells.shape != x.shape
            or initial.row_totals.shape != (x.shape[0],)
            or initial.col_totals.shape != (x.shape[1],)
        ):
            raise ValueError("initial suppression does not match the table's shape")
        if (
            np.any(initial.cells & (x == 0))
            or np.any(initial.row_totals & (state.rows == 0))
            or np.any(initial.col_totals & (state.cols == 0))
            or (initial.grand_total and state.grand == 0)
        ):
            raise ValueError("zero counts cannot be suppressed")
        state.cells |= initial.cells
        state.row_hidden |= initial.row_totals
        state.col_hidden |= initial.col_totals
        state.grand_hidden = state.grand_hidden or bool(initial.grand_total)
    while state.line_rules() or state.close_a_bridge():
        pass
    return Suppression(
        cells=state.cells,
        row_totals=state.row_hidden,
        col_totals=state.col_hidden,
        grand_total=bool(state.grand_hidden),
    )


# --- tables -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One published cell; every figure is None when suppressed (the count is not kept at all).

    percent is the row percentage in a crosstab and the share of the total in a frequency table;
    col_percent is the column percentage (None in a frequency table); total_percent is the share
    of the grand total. ci_low/ci_high: Wilson interval of `percent`, on the same 0-100 scale.
    A percentage or interval is also None when its denominator's total is suppressed, since
    count / percent would give that total back.
    """

    n: int | None
    weighted_n: float | None
    percent: float | None
    col_percent: float | None
    total_percent: float | None
    ci_low: float | None
    ci_high: float | None
    suppressed: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict of every field."""
        # Every field is a scalar: a copy of the fields, without asdict's recursive deep copy
        # (a table has a cell per category pair, and this runs for each).
        return dict(self.__dict__)


@dataclass(frozen=True)
class Total:
    """A row, column or grand total; percent (with a Wilson interval) is its share of the total."""

    n: int | None
    weighted_n: float | None
    percent: float | None
    ci_low: float | None
    ci_high: float | None
    suppressed: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict of every field."""
        # Every field is a scalar: a copy of the fields, without asdict's recursive deep copy
        # (a table has a cell per category pair, and this runs for each).
        return dict(self.__dict__)


_HIDDEN_CELL = Cell(None, None, None, None, None, None, None, True)
_HIDDEN_TOTAL = Total(None, None, None, None, None, True)


@dataclass(frozen=True)
class FrequencyTable:
    """Counts of one variable over its categories, with the non-missing total and missing count."""

    categories: tuple[Hashable, ...]
    cells: tuple[Cell, ...]
    total: Total
    missing: int | None
    missing_suppressed: bool
    weighted: bool
    k: int
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict; each cell carries its category label."""
        return {
            "kind": "frequency",
            "weighted": self.weighted,
            "k": self.k,
            "confidence": self.confidence,
            "categories": list(self.categories),
            "cells": [
                {"category": label, **cell.as_dict()}
                for label, cell in zip(self.categories, self.cells, strict=True)
            ],
            "total": self.total.as_dict(),
            "missing": self.missing,
            "missing_suppressed": self.missing_suppressed,
        }


@dataclass(frozen=True)
class CrossTable:
    """Counts of rows x columns with row, column and grand totals and the missing count."""

    row_categories: tuple[Hashable, ...]
    col_categories: tuple[Hashable, ...]
    cells: tuple[tuple[Cell, ...], ...]
    row_totals: tuple[Total, ...]
    col_totals: tuple[Total, ...]
    total: Total
    missing: int | None
    missing_suppressed: bool
    weighted: bool
    k: int
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict; cells are a list of rows, each cell carrying its row and column label."""
        return {
            "kind": "crosstab",
            "weighted": self.weighted,
            "k": self.k,
            "confidence": self.confidence,
            "row_categories": list(self.row_categories),
            "col_categories": list(self.col_categories),
            "cells": [
                [
                    {"row": row, "col": col, **cell.as_dict()}
                    for col, cell in zip(self.col_categories, line, strict=True)
                ]
                for row, line in zip(self.row_categories, self.cells, strict=True)
            ],
            "row_totals": [
                {"row": row, **total.as_dict()}
                for row, total in zip(self.row_categories, self.row_totals, strict=True)
            ],
            "col_totals": [
                {"col": col, **total.as_dict()}
                for col, total in zip(self.col_categories, self.col_totals, strict=True)
            ],
            "total": self.total.as_dict(),
            "missing": self.missing,
            "missing_suppressed": self.missing_suppressed,
        }


Table: TypeAlias = FrequencyTable | CrossTable


def _categories(
    values: Sequence[Hashable | None], given: Sequence[Hashable] | None, what: str
) -> tuple[Hashable, ...]:
    present = {value for value in values if value is not None}
    if given is None:
        try:
            return tuple(sorted(present))  # type: ignore[type-var]
        except TypeError:
            return tuple(sorted(present, key=repr))
    categories = tuple(given)
    if None in categories:
        raise ValueError(f"{what} categories must not include None (None marks a missing value)")
    if len(set(categories)) != len(categories):
        raise ValueError(f"{what} categories must be distinct")
    unknown = present.difference(categories)
    if unknown:
        raise ValueError(
            f"{what} values not among the categories: {_names(sorted(unknown, key=repr))}"
        )
    return categories


def _share(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole > 0 else None


def _ci(
    count: int, part: float, whole: float, n_eff: float, *, weighted: bool, confidence: float
) -> tuple[float | None, float | None]:
    """Wilson interval (percent) of part/whole: exact counts unweighted, p * Kish n weighted."""
    if whole <= 0:
        return None, None
    if weighted:
        interval = wilson_interval(min(part / whole, 1.0) * n_eff, n_eff, confidence=confidence)
    else:
        interval = wilson_interval(count, whole, confidence=confidence)
    if interval is None:
        return None, None
    return 100.0 * interval[0], 100.0 * interval[1]


def _kish(sums: FloatArray, squares: FloatArray) -> FloatArray:
    """Kish effective n (sum w)^2 / sum w^2 of groups given their sums; 0 for an empty group."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(squares > 0, sums * sums / np.where(squares > 0, squares, 1.0), 0.0)


def _kish_by_group(groups: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """Kish effective n of each group index 0..size-1."""
    sums = np.bincount(groups, weights=weights, minlength=size)
    squares = np.bincount(groups, weights=weights * weights, minlength=size)
    return _kish(sums, squares)


def _missing(count: int, k: int) -> tuple[int | None, bool]:
    # Routing can make "did not answer" a small identifiable group, so it follows the cell rule.
    hidden = 0 < count < k
    return (None if hidden else count), hidden


Key = TypeVar("Key", bound=Hashable)


def _checked_counts(
    counts: Mapping[Key, int],
    weight_sums: Mapping[Key, float] | None,
    weight_squares: Mapping[Key, float] | None,
) -> tuple[dict[Key, int], dict[Key, float], dict[Key, float]]:
    """Counts without zeros, with their weight sums and sums of squares (the counts unweighted).

    Every respondent's weight is positive, so a group's weight sum is positive exactly when its
    count is, and its sum of squares too; the rest would describe data no sample can give.
    """
    if (weight_sums is None) != (weight_squares is None):
        raise ValueError("weight_sums and weight_squares go together")
    n_of: dict[Key, int] = {}
    for key, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
            raise ValueError(f"count of {key!r} must be a non-negative integer, got {count!r}")
        if count:
            n_of[key] = int(count)
    if weight_sums is None or weight_squares is None:
        unit = {key: float(n) for key, n in n_of.items()}
        return n_of, unit, dict(unit)
    w_of: dict[Key, float] = {}
    w2_of: dict[Key, float] = {}
    for key in {*weight_sums, *weight_squares}:
        if key not in n_of and (weight_sums.get(key, 0.0) or weight_squares.get(key, 0.0)):
            raise ValueError(f"weights given for {key!r}, which has no respondents")
    for key in n_of:
        total = float(weight_sums.get(key, 0.0))
        square = float(weight_squares.get(key, 0.0))
        if not (math.isfinite(total) and math.isfinite(square) and total > 0 and square > 0):
            raise ValueError(f"weights of {key!r} must have a positive, finite sum and square sum")
        w_of[key], w2_of[key] = total, square
    return n_of, w_of, w2_of


def frequency_table(
    values: Sequence[Hashable | None],
    *,
    weights: Sequence[float] | None = None,
    categories: Sequence[Hashable] | None = None,
    k: int = 10,
    confidence: float = 0.95,
) -> FrequencyTable:
    """One-way table with percentages, Wilson intervals and suppression (None = missing).

    Categories default to the sorted distinct values; given categories fix the order, may have
    zero counts, and a value outside them raises ValueError. Suppression is `suppress_one_way`
    on the unweighted counts. With weights, percent is the weighted share and its interval uses
    the Kish effective n of the answering respondents.
    """
    _check_k(k)
    _check_confidence(confidence)
    w_all = _aligned_weights(weights, len(values))
    labels = _categories(values, categories, "value")
    index = {label: position for position, label in enumerate(labels)}
    answered = [i for i, value in enumerate(values) if value is not None]
    groups = np.asarray([index[values[i]] for i in answered], dtype=np.int64)
    w = w_all[answered] if w_all is not None else np.ones(len(answered))
    size = len(labels)
    counts = np.bincount(groups, minlength=size).astype(np.int64)
    weighted_counts = np.bincount(groups, weights=w, minlength=size)
    total_w = float(w.sum())
    n_eff = kish_effective_n(w) if w_all is not None else float(counts.sum())
    return _frequency(
        labels,
        counts,
        weighted_counts,
        total_w=total_w,
        n_eff=n_eff,
        missing=len(values) - len(answered),
        weighted=w_all is not None,
        k=k,
        confidence=confidence,
    )


def frequency_table_from_counts(
    counts: Mapping[Hashable | None, int],
    *,
    weight_sums: Mapping[Hashable | None, float] | None = None,
    weight_squares: Mapping[Hashable | None, float] | None = None,
    categories: Sequence[Hashable] | None = None,
    k: int = 10,
    confidence: float = 0.95,
) -> FrequencyTable:
    """`frequency_table` of respondents given as counts per value (the key None = missing).

    Weighted: weight_sums and weight_squares hold each value's sum of weights and of squared
    weights (zero-count keys may be left out). Same table as `frequency_table` on the
    respondents these counts describe (weighted figures equal up to floating-point rounding),
    for work proportional to the number of values rather than respondents.
    """
    _check_k(k)
    _check_confidence(confidence)
    n_of, w_of, w2_of = _checked_counts(counts, weight_sums, weight_squares)
    labels = _categories(list(n_of), categories, "value")
    size = len(labels)
    x = np.zeros(size, dtype=np.int64)
    xw = np.zeros(size)
    xw2 = np.zeros(size)
    for position, label in enumerate(labels):
        if label in n_of:
            x[position], xw[position], xw2[position] = n_of[label], w_of[label], w2_of[label]
    weighted = weight_sums is not None
    total_w = float(xw.sum())
    n_eff = float(_kish(np.asarray([total_w]), np.asarray([xw2.sum()]))[0])
    return _frequency(
        labels,
        x,
        xw,
        total_w=total_w,
        n_eff=n_eff if weighted else float(x.sum()),
        missing=n_of.get(None, 0),
        weighted=weighted,
        k=k,
        confidence=confidence,
    )


def _frequency(
    labels: tuple[Hashable, ...],
    counts: IntArray,
    weighted_counts: FloatArray,
    *,
    total_w: float,
    n_eff: float,
    missing: int,
    weighted: bool,
    k: int,
    confidence: float,
) -> FrequencyTable:
    """The one-way table from its aggregates: the single place its figures are worked out."""
    total_n = int(counts.sum())
    mask = suppress_one_way(counts, k=k)
    cells = []
    for position in range(len(labels)):
        if mask.cells[position]:
            cells.append(_HIDDEN_CELL)
            continue
        percent = ci_low = ci_high = None
        if not mask.total:
            percent = _share(weighted_counts[position], total_w)
            ci_low, ci_high = _ci(
                int(counts[position]),
                float(weighted_counts[position]),
                total_w,
                n_eff,
                weighted=weighted,
                confidence=confidence,
            )
        cells.append(
            Cell(
                n=int(counts[position]),
                weighted_n=float(weighted_counts[position]),
                percent=percent,
                col_percent=None,
                total_percent=percent,
                ci_low=ci_low,
                ci_high=ci_high,
                suppressed=False,
            )
        )
    total = (
        _HIDDEN_TOTAL
        if mask.total
        else Total(total_n, total_w, 100.0 if total_w > 0 else None, None, None, False)
    )
    missing_count, missing_hidden = _missing(missing, k)
    return FrequencyTable(
        categories=labels,
        cells=tuple(cells),
        total=total,
        missing=missing_count,
        missing_suppressed=missing_hidden,
        weighted=weighted,
        k=k,
        confidence=confidence,
    )


def crosstab(
    rows: Sequence[Hashable | None],
    cols: Sequence[Hashable | None],
    *,
    weights: Sequence[float] | None = None,
    row_categories: Sequence[Hashable] | None = None,
    col_categories: Sequence[Hashable] | None = None,
    k: int = 10,
    confidence: float = 0.95,
) -> CrossTable:
    """Two-way table: row/column/total percentages, Wilson intervals of row shares, suppression.

    A respondent missing either variable (None) is excluded and counted in `missing`. Each
    cell's interval is for its row percentage; with weights the weighted row share and the Kish
    effective n of that row's respondents. Margin percentages are shares of the grand total.
    Suppression is `suppress` on the unweighted counts.
    """
    _check_k(k)
    _check_confidence(confidence)
    if len(rows) != len(cols):
        raise ValueError(f"got {len(rows)} row values and {len(cols)} column values")
    w_all = _aligned_weights(weights, len(rows))
    weighted = w_all is not None
    row_labels = _categories(rows, row_categories, "row")
    col_labels = _categories(cols, col_categories, "column")
    row_index = {label: position for position, label in enumerate(row_labels)}
    col_index = {label: position for position, label in enumerate(col_labels)}
    answered = [i for i in range(len(rows)) if rows[i] is not None and cols[i] is not None]
    r_of = np.asarray([row_index[rows[i]] for i in answered], dtype=np.int64)
    c_of = np.asarray([col_index[cols[i]] for i in answered], dtype=np.int64)
    w = w_all[answered] if w_all is not None else np.ones(len(answered))
    nr, nc = len(row_labels), len(col_labels)
    flat = r_of * nc + c_of
    x = np.bincount(flat, minlength=nr * nc).astype(np.int64).reshape(nr, nc)
    xw = np.bincount(flat, weights=w, minlength=nr * nc).reshape(nr, nc)
    if weighted:
        row_eff = _kish_by_group(r_of, w, nr)
        grand_eff = kish_effective_n(w)
    else:
        row_eff = x.sum(axis=1).astype(float)
        grand_eff = float(x.sum())
    return _crosstab(
        row_labels,
        col_labels,
        x,
        xw,
        grand_w=float(w.sum()),
        row_eff=row_eff,
        grand_eff=grand_eff,
        missing=len(rows) - len(answered),
        weighted=weighted,
        k=k,
        confidence=confidence,
    )


def crosstab_from_counts(
    counts: Mapping[tuple[Hashable | None, Hashable | None], int],
    *,
    weight_sums: Mapping[tuple[Hashable | None, Hashable | None], float] | None = None,
    weight_squares: Mapping[tuple[Hashable | None, Hashable | None], float] | None = None,
    row_categories: Sequence[Hashable] | None = None,
    col_categories: Sequence[Hashable] | None = None,
    k: int = 10,
    confidence: float = 0.95,
) -> CrossTable:
    """`crosstab` of respondents given as counts per (row value, column value); None = missing.

    Weighted: weight_sums and weight_squares hold each pair's sum of weights and of squared
    weights. Same table as `crosstab` on the respondents these counts describe (weighted figures
    equal up to floating-point rounding), for work proportional to the number of cells.
    """
    _check_k(k)
    _check_confidence(confidence)
    for key in counts:
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"crosstab counts are keyed by (row, column) pairs, got {key!r}")
    n_of, w_of, w2_of = _checked_counts(counts, weight_sums, weight_squares)
    row_labels = _categories([r for r, _ in n_of], row_categories, "row")
    col_labels = _categories([c for _, c in n_of], col_categories, "column")
    row_index = {label: position for position, label in enumerate(row_labels)}
    col_index = {label: position for position, label in enumerate(col_labels)}
    nr, nc = len(row_labels), len(col_labels)
    x = np.zeros((nr, nc), dtype=np.int64)
    xw = np.zeros((nr, nc))
    xw2 = np.zeros((nr, nc))
    missing = 0
    for (row, col), n in n_of.items():
        if row is None or col is None:
            missing += n
            continue
        i, j = row_index[row], col_index[col]
        x[i, j], xw[i, j], xw2[i, j] = n, w_of[(row, col)], w2_of[(row, col)]
    weighted = weight_sums is not None
    if weighted:
        row_eff = _kish(xw.sum(axis=1), xw2.sum(axis=1))
        grand_eff = float(_kish(np.asarray([xw.sum()]), np.asarray([xw2.sum()]))[0])
    else:
        row_eff = x.sum(axis=1).astype(float)
        grand_eff = float(x.sum())
    return _crosstab(
        row_labels,
        col_labels,
        x,
        xw,
        grand_w=float(xw.sum()),
        row_eff=row_eff,
        grand_eff=grand_eff,
        missing=missing,
        weighted=weighted,
        k=k,
        confidence=confidence,
    )


def _crosstab(
    row_labels: tuple[Hashable, ...],
    col_labels: tuple[Hashable, ...],
    x: IntArray,
    xw: FloatArray,
    *,
    grand_w: float,
    row_eff: FloatArray,
    grand_eff: float,
    missing: int,
    weighted: bool,
    k: int,
    confidence: float,
) -> CrossTable:
    """The two-way table from its aggregates: the single place its figures are worked out."""
    nr, nc = x.shape
    row_n, col_n, grand_n = x.sum(axis=1), x.sum(axis=0), int(x.sum())
    row_w, col_w = xw.sum(axis=1), xw.sum(axis=0)
    mask = suppress(x, k=k)

    cells: list[tuple[Cell, ...]] = []
    for i in range(nr):
        line = []
        for j in range(nc):
            if mask.cells[i, j]:
                line.append(_HIDDEN_CELL)
                continue
            percent = ci_low = ci_high = col_percent = total_percent = None
            if not mask.row_totals[i]:
                percent = _share(xw[i, j], row_w[i])
                ci_low, ci_high = _ci(
                    int(x[i, j]),
                    float(xw[i, j]),
                    float(row_w[i]),
                    float(row_eff[i]),
                    weighted=weighted,
                    confidence=confidence,
                )
            if not mask.col_totals[j]:
                col_percent = _share(xw[i, j], col_w[j])
            if not mask.grand_total:
                total_percent = _share(xw[i, j], grand_w)
            line.append(
                Cell(
                    n=int(x[i, j]),
                    weighted_n=float(xw[i, j]),
                    percent=percent,
                    col_percent=col_percent,
                    total_percent=total_percent,
                    ci_low=ci_low,
                    ci_high=ci_high,
                    suppressed=False,
                )
            )
        cells.append(tuple(line))

    def margin(n: int, weighted_n: float, hidden: bool) -> Total:
        if hidden:
            return _HIDDEN_TOTAL
        if mask.grand_total:
            return Total(n, weighted_n, None, None, None, False)
        low, high = _ci(n, weighted_n, grand_w, grand_eff, weighted=weighted, confidence=confidence)
        return Total(n, weighted_n, _share(weighted_n, grand_w), low, high, False)

    missing_count, missing_hidden = _missing(missing, k)
    return CrossTable(
        row_categories=row_labels,
        col_categories=col_labels,
        cells=tuple(cells),
        row_totals=tuple(
            margin(int(row_n[i]), float(row_w[i]), bool(mask.row_totals[i])) for i in range(nr)
        ),
        col_totals=tuple(
            margin(int(col_n[j]), float(col_w[j]), bool(mask.col_totals[j])) for j in range(nc)
        ),
        total=(
            _HIDDEN_TOTAL
            if mask.grand_total
            else Total(grand_n, grand_w, 100.0 if grand_w > 0 else None, None, None, False)
        ),
        missing=missing_count,
        missing_suppressed=missing_hidden,
        weighted=weighted,
        k=k,
        confidence=confidence,
    )
