"""Score-based structure search over DAGs: greedy hill climbing and tabu search.

The moves are: add, delete or reverse one arc, keeping the graph acyclic. A decomposable score
changes only in the family (child + parents) a move touches, so the search keeps a table of
score deltas for every candidate move — ``delta_add[p, c]`` = local(c, pa(c) ∪ {p}) − local(c,
pa(c)), ``delta_delete[p, c]`` likewise, a reversal the sum of two family deltas — and after a
move marks stale only the columns of the one or two children whose family changed. Stale deltas
of legal moves are refilled in ONE `Scorer.local_many` call per iteration (one data pass on a
chunked or distributed source), and the best legal move is an argmax over numpy arrays. A
reachability matrix (``reach[a, b]``: a directed path a → … → b) answers acyclicity; adding an
arc updates it by one outer product, deleting one recomputes only the rows of the tail's
ancestors.

`hill_climb` stops at the first graph no legal move improves (with ``tabu_length`` > 0 it also
refuses to undo its last moves, as pgmpy does); `tabu_search` keeps taking the best non-tabu
move through plateaus and dips and returns the best graph seen. Both may restart from random
perturbations of the best graph (seeded).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.pgm.errors import ModelError
from genlab.pgm.learning.gaussian import GAUSSIAN_SCORES, GaussianScorer
from genlab.pgm.learning.graph import DAG, arc_indices, as_dag
from genlab.pgm.learning.scores import FamilyScorer, Scorer
from genlab.pgm.learning.sources import as_source

__all__ = ["Move", "SearchResult", "hill_climb", "tabu_search"]

REL_TOL = 1e-9  # a move improves when its delta exceeds REL_TOL · max(1, |score|)
MOVE_KINDS = ("add", "delete", "reverse")
PERTURB_MIN = 5  # default perturbation: max(5, V // 2) random moves (alarm, insurance: V // 2
# escapes more local optima than 5 moves per restart, 2V more still at twice the cost)
# tabu_search defaults, measured over 10 shuffled-column samples each of alarm, insurance and
# child (n = 10^4): median SHD 20 / 30.5 / 0 against 25.5 / 34.5 / 0 for (10, 30); longer
# lists or patience changed nothing or did worse (100, 100: 24.5 / 33.5 / 0)
TABU_LENGTH = 30
MAX_NO_IMPROVE = 100
Callback = Callable[[int, float], Any]


@dataclass(frozen=True)
class Move:
    """One arc change: `kind` is "add", "delete" or "reverse" (of parent → child, which becomes
    child → parent), prefixed "perturb-" for a random restart move; `delta` is the change of
    the score it made."""

    kind: str
    parent: str
    child: str
    delta: float


@dataclass(frozen=True)
class SearchResult:
    """What a structure search found and what it cost.

    `score` is the score of `dag`; `iterations` counts search moves (not restart perturbations),
    `moves` lists every move applied in order (perturbations included, kind prefixed
    "perturb-"), `evaluations` the families counted (score cache misses), `trace` the score
    after every search move and `restarts` the restarts that improved the best graph.
    """

    dag: DAG
    score: float
    iterations: int
    moves: tuple[Move, ...]
    evaluations: int
    trace: tuple[float, ...]
    restarts: int = 0


# ----------------------------------------------------------------------------------------------
# reachability
# ----------------------------------------------------------------------------------------------
def _topological(adj: np.ndarray) -> np.ndarray:
    """A topological order of the graph with adjacency `adj` (adj[p, c]: arc p → c); shorter
    than the number of nodes when the graph has a cycle."""
    indegree = adj.sum(axis=0).astype(np.int64)
    order: list[int] = []
    ready = list(np.flatnonzero(indegree == 0))
    while ready:
        v = ready.pop()
        order.append(int(v))
        for c in np.flatnonzero(adj[v]):
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    return np.array(order, dtype=np.int64)


def _closure(adj: np.ndarray) -> np.ndarray:
    """reach[a, b]: a directed path a → … → b of at least one arc (children before parents)."""
    reach = np.zeros_like(adj)
    order = _topological(adj)
    assert order.size == adj.shape[0], "the search graph has a cycle"
    for v in order[::-1]:
        children = np.flatnonzero(adj[v])
        reach[v] = adj[v] | reach[children].any(axis=0) if children.size else adj[v]
    return reach


# ----------------------------------------------------------------------------------------------
# the search state
# ----------------------------------------------------------------------------------------------
class _Search:
    """A DAG being searched: adjacency, reachability, local scores and the move-delta tables."""

    def __init__(
        self, scorer: FamilyScorer, adj: np.ndarray, black: np.ndarray, white: np.ndarray,
        max_parents: int,
    ) -> None:
        self.scorer = scorer
        self.names = scorer.variables
        v = len(self.names)
        self.adj = adj.copy()  # (V, V) bool, adj[p, c]: arc p → c
        self.reach = _closure(self.adj)  # (V, V) bool
        self.black = black  # (V, V) bool, arcs never added
        self.white = white  # (V, V) bool, arcs never deleted or reversed
        self.max_parents = max_parents
        self.eye = np.eye(v, dtype=bool)
        self.delta_add = np.full((v, v), np.nan)  # NaN: stale (its child's family changed)
        self.delta_delete = np.full((v, v), np.nan)
        self.local = np.array(scorer.local_many(
            [(self.names[c], self._parents(c)) for c in range(v)]
        ))

    # -- graph -------------------------------------------------------------------------------
    def _parents(self, c: int) -> tuple[str, ...]:
        return tuple(self.names[p] for p in np.flatnonzero(self.adj[:, c]))

    @property
    def score(self) -> float:
        return float(self.local.sum())

    def dag(self) -> DAG:
        cs, ps = np.nonzero(self.adj.T)  # grouped by child
        return DAG(self.names, [(self.names[p], self.names[c])
                                for c, p in zip(cs, ps, strict=True)])

    def legal(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masks (V, V) of the legal adds, deletes and reversals (indexed [parent, child])."""
        room = self.adj.sum(axis=0) < self.max_parents  # (V,) may gain a parent
        add = ~(self.adj | self.reach.T | self.eye | self.black) & room[None, :]
        delete = self.adj & ~self.white
        reverse = delete & ~self.black.T & room[:, None]
        ps, cs = np.nonzero(reverse)
        if ps.size:  # reversing p → c closes a cycle iff another path p → x → … → c exists
            other = (self.adj[ps] & self.reach[:, cs].T).any(axis=1)
            reverse[ps[other], cs[other]] = False
        return add, delete, reverse

    # -- deltas ------------------------------------------------------------------------------
    def refresh(self, add: np.ndarray, delete: np.ndarray, reverse: np.ndarray) -> None:
        """Score every stale delta a legal move needs, in one `local_many` batch."""
        need_add = (add | reverse.T) & np.isnan(self.delta_add)
        need_delete = (delete | reverse) & np.isnan(self.delta_delete)
        if not (need_add.any() or need_delete.any()):
            return
        families: list[tuple[str, tuple[str, ...]]] = []
        slots: list[tuple[np.ndarray, int, int]] = []
        for c in np.flatnonzero(need_add.any(axis=0) | need_delete.any(axis=0)).tolist():
            child, base = self.names[c], self._parents(c)
            for p in np.flatnonzero(need_add[:, c]).tolist():
                families.append((child, (*base, self.names[p])))
                slots.append((self.delta_add, p, c))
            for p in np.flatnonzero(need_delete[:, c]).tolist():
                families.append((child, tuple(q for q in base if q != self.names[p])))
                slots.append((self.delta_delete, p, c))
        for (table, p, c), value in zip(slots, self.scorer.local_many(families), strict=True):
            table[p, c] = value - self.local[c]

    def gains(
        self, add: np.ndarray, delete: np.ndarray, reverse: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Score changes of the legal moves, −inf where illegal (after `refresh`)."""
        return (
            np.where(add, self.delta_add, -np.inf),
            np.where(delete, self.delta_delete, -np.inf),
            np.where(reverse, self.delta_delete + self.delta_add.T, -np.inf),
        )

    # -- moves -------------------------------------------------------------------------------
    def apply(self, kind: str, p: int, c: int) -> float:
        """Make the move; returns its score change. Only the changed families' deltas go stale."""
        before = self.score
        if kind == "add":
            self._add(p, c)
            changed = [c]
        elif kind == "delete":
            self._delete(p, c)
            changed = [c]
        else:
            self._delete(p, c)
            self._add(c, p)
            changed = [c, p]
        self._rescore(changed)
        return self.score - before

    def _add(self, p: int, c: int) -> None:
        self.adj[p, c] = True
        rows = self.reach[:, p].copy()
        rows[p] = True
        cols = self.reach[c].copy()
        cols[c] = True
        self.reach |= np.outer(rows, cols)

    def _delete(self, p: int, c: int) -> None:
        """Remove p → c; only the rows of p and its ancestors can lose reachability."""
        self.adj[p, c] = False
        rows = self.reach[:, p].copy()
        rows[p] = True
        depth = self.reach.sum(axis=0)  # ancestors per node: a topological key of the old DAG
        for u in sorted(np.flatnonzero(rows), key=lambda u: -depth[u]):
            children = np.flatnonzero(self.adj[u])
            self.reach[u] = (self.adj[u] | self.reach[children].any(axis=0) if children.size
                             else self.adj[u])

    def _rescore(self, children: Sequence[int]) -> None:
        scores = self.scorer.local_many([(self.names[c], self._parents(c)) for c in children])
        for c, value in zip(children, scores, strict=True):
            self.local[c] = value
            self.delta_add[:, c] = np.nan
            self.delta_delete[:, c] = np.nan

    def reset(self, adj: np.ndarray) -> None:
        """Jump to another DAG (the best one seen); deltas of the changed children go stale."""
        changed = np.flatnonzero((self.adj != adj).any(axis=0))
        self.adj = adj.copy()
        self.reach = _closure(self.adj)
        if changed.size:
            self._rescore(list(changed))


# ----------------------------------------------------------------------------------------------
# choosing moves
# ----------------------------------------------------------------------------------------------
def _inverse(kind: str, p: int, c: int) -> tuple[str, int, int]:
    """The move that undoes (kind, p, c): what the tabu list forbids next."""
    if kind == "add":
        return "delete", p, c
    if kind == "delete":
        return "add", p, c
    return "reverse", c, p


def _best_move(
    gains: tuple[np.ndarray, np.ndarray, np.ndarray],
    tabu: Iterable[tuple[str, int, int]],
    aspiration: float,
    tol: float,
) -> tuple[str, int, int, float] | None:
    """The legal move of largest gain (kind, parent, child, largest gain); a tabu move only
    when its gain exceeds `aspiration`.

    Gains within `tol` of the largest are ties (an arc and its reverse often score the same):
    the first of them in (add, delete, reverse; parent, child) order wins, so rounding noise
    in the scores never decides the path.
    """
    for kind, p, c in tabu:
        table = gains[MOVE_KINDS.index(kind)]
        if table[p, c] <= aspiration:
            table[p, c] = -np.inf
    top = max(float(table.max(initial=-np.inf)) for table in gains)
    if top == -np.inf:
        return None
    for kind, table in zip(MOVE_KINDS, gains, strict=True):
        tied = np.flatnonzero(table >= top - tol)
        if tied.size:
            p, c = divmod(int(tied[0]), table.shape[1])
            return kind, p, c, top
    raise AssertionError("unreachable: some table holds the maximum")


def _climb(
    state: _Search, *, tabu_length: int, max_no_improve: int | None, max_iter: int,
    tol: float, log: _Log,
) -> None:
    """Hill climbing (`max_no_improve` None) or tabu search from the state's current DAG; the
    state ends on the best DAG seen."""
    tabu: deque[tuple[str, int, int]] = deque(maxlen=tabu_length)
    best_score, best_adj = state.score, state.adj.copy()
    stale = 0
    for _ in range(max_iter):
        masks = state.legal()
        state.refresh(*masks)
        aspiration = best_score - state.score + tol
        move = _best_move(state.gains(*masks), tabu, aspiration, tol)
        if move is None or (max_no_improve is None and move[3] <= tol):
            break
        kind, p, c, _ = move
        delta = state.apply(kind, p, c)
        tabu.append(_inverse(kind, p, c))
        log.record(Move(kind, state.names[p], state.names[c], delta), state.score)
        if state.score > best_score + tol:
            best_score, best_adj, stale = state.score, state.adj.copy(), 0
        else:
            stale += 1
            if max_no_improve is not None and stale >= max_no_improve:
                break
    if not np.array_equal(state.adj, best_adj):  # a tie walked elsewhere: return the best
        state.reset(best_adj)


def _perturb(state: _Search, steps: int, rng: np.random.Generator, log: _Log) -> None:
    """Apply `steps` uniformly random legal moves (ignoring the score)."""
    for _ in range(steps):
        masks = state.legal()
        counts = [int(m.sum()) for m in masks]
        if not sum(counts):
            return
        pick = int(rng.integers(sum(counts)))
        for kind, mask, n in zip(MOVE_KINDS, masks, counts, strict=True):
            if pick < n:
                p, c = (int(i[pick]) for i in np.nonzero(mask))
                delta = state.apply(kind, p, c)
                log.moves.append(Move(f"perturb-{kind}", state.names[p], state.names[c], delta))
                break
            pick -= n


class _Log:
    """Moves, per-iteration scores and the progress callback of one search."""

    def __init__(self, callback: Callback | None) -> None:
        self.moves: list[Move] = []
        self.trace: list[float] = []
        self.callback = callback

    def record(self, move: Move, score: float) -> None:
        self.moves.append(move)
        self.trace.append(score)
        if self.callback is not None:
            self.callback(len(self.trace), score)


# ----------------------------------------------------------------------------------------------
# arguments
# ----------------------------------------------------------------------------------------------
def _scorer(data: Any, score: str, ess: float, scorer: FamilyScorer | None) -> FamilyScorer:
    if scorer is not None:
        return scorer
    if data is None:
        raise ModelError("structure search needs `data` (or a `scorer`)")
    if score in GAUSSIAN_SCORES:  # continuous columns: linear-Gaussian families
        return GaussianScorer(data, score)
    data = as_source(data)
    return Scorer(data, score, ess)


def _count_arg(name: str, value: Any) -> int:
    """A non-negative integer argument, or a ModelError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ModelError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _arc_mask(arcs: Iterable[Sequence[str]], index: dict[str, int], what: str) -> np.ndarray:
    """A (V, V) bool mask of (parent, child) arcs named in `arcs`."""
    mask = np.zeros((len(index), len(index)), dtype=bool)
    for a, b in arc_indices(arcs, index, what):
        mask[a, b] = True
    return mask


def _start(
    start: Any, names: tuple[str, ...], black: np.ndarray, white: np.ndarray, max_parents: int,
) -> np.ndarray:
    """The start adjacency: `start` (default empty) plus the white list, checked."""
    index = {v: i for i, v in enumerate(names)}
    adj = np.zeros((len(names), len(names)), dtype=bool)
    if start is not None:
        dag = as_dag(start)  # a cycle raises ModelError here
        if set(dag.nodes) != set(names):
            raise ModelError(
                f"the start DAG's nodes differ from the data's columns: only in the DAG "
                f"{sorted(set(dag.nodes) - set(names))}, only in the data "
                f"{sorted(set(names) - set(dag.nodes))}"
            )
        for a, b in dag.edges:
            adj[index[a], index[b]] = True
    both = white & black
    if both.any():
        p, c = (int(i[0]) for i in np.nonzero(both))
        raise ModelError(f"the arc {names[p]} -> {names[c]} is in both the white and black list")
    bad = adj & black
    if bad.any():
        p, c = (int(i[0]) for i in np.nonzero(bad))
        raise ModelError(f"the start DAG has the black-listed arc {names[p]} -> {names[c]}")
    adj |= white
    if _topological(adj).size < len(names):
        parents = {v: [names[p] for p in np.flatnonzero(adj[:, i])] for i, v in enumerate(names)}
        try:
            DAG.from_parents(parents, names)
        except ModelError as err:  # name the cycle
            raise ModelError(f"the start DAG plus the white list is not acyclic: {err}") from None
        raise AssertionError("unreachable: a cyclic graph passed DAG()")
    indegree = adj.sum(axis=0)
    if indegree.max(initial=0) > max_parents:
        c = int(np.argmax(indegree))
        raise ModelError(
            f"{names[c]!r} has {int(indegree[c])} parents in the start DAG and white list, "
            f"more than max_parents={max_parents}"
        )
    return adj


def _search(
    data: Any, *, score: str, ess: float, max_parents: int | None,
    black_list: Iterable[Sequence[str]], white_list: Iterable[Sequence[str]], start: Any,
    tabu_length: int, max_no_improve: int | None, max_iter: int, restarts: int,
    perturb: int | None,
    seed: int | None, scorer: FamilyScorer | None, callback: Callback | None,
) -> SearchResult:
    """Check the arguments, climb (hill climbing or tabu) from the start DAG, then restart."""
    scorer = _scorer(data, score, ess, scorer)
    names = scorer.variables
    tabu_length = _count_arg("tabu_length", tabu_length)
    max_iter = _count_arg("max_iter", max_iter)
    restarts = _count_arg("restarts", restarts)
    perturb = _count_arg("perturb", max(PERTURB_MIN, len(names) // 2) if perturb is None
                         else perturb)
    max_parents = _count_arg("max_parents", max(len(names) - 1, 0) if max_parents is None
                             else max_parents)
    index = {v: i for i, v in enumerate(names)}
    black = _arc_mask(black_list, index, "black_list")
    white = _arc_mask(white_list, index, "white_list")
    evaluations = scorer.evaluations
    state = _Search(scorer, _start(start, names, black, white, max_parents), black, white,
                    max_parents)
    tol = REL_TOL * max(1.0, abs(state.score))
    log = _Log(callback)

    def climb() -> None:
        _climb(state, tabu_length=tabu_length, max_no_improve=max_no_improve,
               max_iter=max_iter, tol=tol, log=log)

    climb()
    best_score, best_adj, improved = state.score, state.adj.copy(), 0
    rng = np.random.default_rng(seed)
    for _ in range(restarts):
        _perturb(state, perturb, rng, log)
        climb()
        if state.score > best_score + tol:
            best_score, best_adj, improved = state.score, state.adj.copy(), improved + 1
        else:
            state.reset(best_adj)
    return SearchResult(
        dag=state.dag(), score=state.score, iterations=len(log.trace), moves=tuple(log.moves),
        evaluations=scorer.evaluations - evaluations, trace=tuple(log.trace), restarts=improved,
    )


# ----------------------------------------------------------------------------------------------
# public
# ----------------------------------------------------------------------------------------------
def hill_climb(
    data: Any = None,
    score: str = "bic",
    ess: float = 1.0,
    max_parents: int | None = None,
    black_list: Iterable[Sequence[str]] = (),
    white_list: Iterable[Sequence[str]] = (),
    start: Any = None,
    tabu_length: int = 0,
    max_iter: int = 100_000,
    restarts: int = 0,
    perturb: int | None = None,
    seed: int | None = None,
    scorer: FamilyScorer | None = None,
    callback: Callback | None = None,
) -> SearchResult:
    """Greedy hill climbing over DAGs: take the best legal add/delete/reverse until none
    improves the score; then, `restarts` times, perturb the best DAG by `perturb` random legal
    moves (default max(5, V // 2); seeded by `seed`) and climb again, keeping the best.

    `data` is anything `as_dataset` reads (or a Dataset / count source); `scorer` reuses a
    `Scorer` (and its cache) instead. `black_list` arcs are never added, `white_list` arcs are
    in the start DAG (default: empty) and never deleted or reversed; `tabu_length` > 0 forbids
    undoing the last moves (pgmpy's tabu list); `max_iter` caps the moves of one climb;
    `callback(iteration, score)` sees every move.

    Plain greedy search stops where the arcs it oriented first (an arc and its reverse score
    alike) block better graphs; `tabu_search` walks on through such plateaus and, measured on
    bnlearn networks, finds better-scoring DAGs with a lower SHD at under twice the time.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 2000); b = a ^ (rng.random(2000) < 0.1)
    >>> hill_climb({"a": a, "b": b}).dag.num_edges
    1
    """
    return _search(
        data, score=score, ess=ess, max_parents=max_parents, black_list=black_list,
        white_list=white_list, start=start, tabu_length=tabu_length, max_no_improve=None,
        max_iter=max_iter, restarts=restarts, perturb=perturb, seed=seed, scorer=scorer,
        callback=callback,
    )


def tabu_search(
    data: Any = None,
    score: str = "bic",
    ess: float = 1.0,
    max_parents: int | None = None,
    black_list: Iterable[Sequence[str]] = (),
    white_list: Iterable[Sequence[str]] = (),
    start: Any = None,
    tabu_length: int = TABU_LENGTH,
    max_no_improve: int = MAX_NO_IMPROVE,
    max_iter: int = 100_000,
    restarts: int = 0,
    perturb: int | None = None,
    seed: int | None = None,
    scorer: FamilyScorer | None = None,
    callback: Callback | None = None,
) -> SearchResult:
    """Tabu search: hill climbing that goes on through non-improving moves, never undoing one
    of its last `tabu_length` moves unless that beats the best score seen, and stops after
    `max_no_improve` moves without a new best; returns the best DAG seen. The other arguments
    are those of `hill_climb`.
    """
    if _count_arg("max_no_improve", max_no_improve) < 1:
        raise ModelError(f"max_no_improve must be a positive integer, got {max_no_improve!r}")
    return _search(
        data, score=score, ess=ess, max_parents=max_parents, black_list=black_list,
        white_list=white_list, start=start, tabu_length=tabu_length,
        max_no_improve=max_no_improve, max_iter=max_iter, restarts=restarts, perturb=perturb,
        seed=seed, scorer=scorer, callback=callback,
    )
