"""Disclosure control: which cells and totals of a published table are withheld.

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

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from surveys.statistics.checks import BoolArray, IntArray, check_k

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
    check_k(k)
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
    check_k(k)
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
