"""UAI model files (the format of the UAI inference competitions): read and write.

A file is a stream of white-space separated tokens: MARKOV or BAYES, the number of variables,
their cardinalities, the number of factors, each scope (size, then variable indices), then each
table (entry count, then entries with the LAST scope variable fastest — NumPy C order). Variables
are named by their index ("0", "1", ...). All table entries are converted in one NumPy call.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from genlab.pgm.errors import ModelError, ParseError
from genlab.pgm.factor import Factor
from genlab.pgm.io._source import Source, read_source, write_text
from genlab.pgm.io._tokens import Tokens
from genlab.pgm.models.bayesian_network import CPT, BayesianNetwork
from genlab.pgm.models.factor_graph import FactorGraph

__all__ = [
    "read_uai",
    "read_uai_bayesian_network",
    "uai_string",
    "write_uai",
]

SUFFIXES = (".uai", ".uai.gz")
KINDS = ("MARKOV", "BAYES")


class _UAIFile:
    """What a UAI file holds: its kind, cardinalities, scopes (indices) and flat tables."""

    def __init__(
        self,
        kind: str,
        cards: list[int],
        scopes: list[list[int]],
        tables: list[np.ndarray],
        tokens: Tokens,
        scope_at: list[int],
    ) -> None:
        self.kind = kind
        self.cards = cards
        self.scopes = scopes
        self.tables = tables
        self._tokens = tokens
        self._scope_at = scope_at  # token index where each scope starts (for errors)

    def error(self, message: str, factor: int) -> ParseError:
        """A ParseError at the scope line of factor number `factor`."""
        return self._tokens.error(message, self._scope_at[factor])

    def factor(self, a: int) -> Factor:
        """Factor number `a`, a variable repeated in its scope reduced to the diagonal."""
        scope, table = self.scopes[a], self.tables[a]
        table = table.reshape([self.cards[i] for i in scope])
        if len(set(scope)) != len(scope):  # psi(x_i, x_i): keep entries where the copies agree
            distinct = list(dict.fromkeys(scope))
            label = {v: k for k, v in enumerate(distinct)}
            table = np.einsum(table, [label[v] for v in scope], list(range(len(distinct))))
            scope = distinct
        return Factor([str(i) for i in scope], table, validate=False)

    def factor_graph(self, name: str = "") -> FactorGraph:
        """All factors as a FactorGraph; variables in no factor are kept via `cards`."""
        factors = [self.factor(a) for a in range(len(self.scopes))]
        cards = {str(i): c for i, c in enumerate(self.cards)}
        return FactorGraph(factors, cards=cards, name=name)


def _parse(text: str, path: str | None = None) -> _UAIFile:
    """The raw content of UAI `text` (validated); `path` only names the source in errors."""
    tokens = Tokens(text, path)
    kind = tokens.take("MARKOV or BAYES").upper()
    if kind not in KINDS:
        raise tokens.error(f"expected MARKOV or BAYES, got {tokens.items[0]!r}")
    n = tokens.integer("the number of variables")
    cards = [tokens.integer(f"the cardinality of variable {i}", minimum=1) for i in range(n)]
    num_factors = tokens.integer("the number of factors")
    scopes = []
    scope_at = []
    for a in range(num_factors):
        scope_at.append(tokens.pos)
        size = tokens.integer(f"the scope size of factor {a}")
        scope = [tokens.integer(f"a variable of factor {a}") for _ in range(size)]
        if scope and max(scope) >= n:
            raise tokens.error(f"factor {a} names variable {max(scope)}, but there are only {n}")
        scopes.append(scope)
    start = tokens.pos
    values = tokens.floats()
    ok = np.isfinite(values) & (values >= 0)
    first_bad = len(values) if ok.all() else int(np.argmin(ok))  # checked once for all tables
    tables: list[np.ndarray] = []
    q = 0
    for a, scope in enumerate(scopes):
        size = math.prod(cards[i] for i in scope)
        if q >= len(values):
            end = len(tokens.items)
            raise tokens.error(f"unexpected end of file, expected the table of factor {a}", end)
        if float(values[q]) != size:
            raise tokens.error(
                f"factor {a} over variables {scope} has {size} entries, "
                f"the file says {values[q]:g}",
                start + q,
            )
        table = values[q + 1 : q + 1 + size]
        if len(table) < size:
            raise tokens.error(
                f"unexpected end of file in the table of factor {a}: "
                f"{len(table)} of {size} entries",
                len(tokens.items),
            )
        if q < first_bad <= q + size:
            entry = float(values[first_bad])
            raise tokens.error(
                f"factor {a}: entry {entry!r} is not a finite number >= 0", start + first_bad
            )
        tables.append(table)
        q += 1 + size
    if q != len(values):
        extra = tokens.items[start + q]
        raise tokens.error(f"unexpected extra token {extra!r} after the last table", start + q)
    return _UAIFile(kind, cards, scopes, tables, tokens, scope_at)


def _stem(path: str | None) -> str:
    """The file name without .uai / .uai.gz ('' for text)."""
    if path is None:
        return ""
    name = re.split(r"[\\/]", path)[-1]
    return re.sub(r"\.uai(\.gz)?$", "", name, flags=re.I)


def read_uai(source: Source) -> FactorGraph:
    """Read a UAI file (MARKOV or BAYES; a path, .gz decompressed, or the text) as a FactorGraph.

    Variables are "0", "1", ... in index order (those in no factor too); a BAYES file gives one
    factor per CPT over (parents..., child).

    >>> fg = read_uai("MARKOV 2  2 3  1  2 0 1  6  1 2 3 4 5 6")
    >>> fg.factors[0].value({"0": 1, "1": 2})
    6.0
    """
    text, path = read_source(source, SUFFIXES)
    return _parse(text, path).factor_graph(_stem(path))


def read_uai_bayesian_network(source: Source) -> BayesianNetwork:
    """Read a BAYES file as a BayesianNetwork: in each factor the last variable is the child."""
    text, path = read_source(source, SUFFIXES)
    model = _parse(text, path)
    if model.kind != "BAYES":
        raise ParseError(f"a BayesianNetwork needs a BAYES file, this one is {model.kind}", path, 1)
    cpts: dict[str, CPT] = {}
    factor_of: dict[str, int] = {}
    for a, scope in enumerate(model.scopes):
        if not scope or len(set(scope)) != len(scope):
            raise model.error(f"factor {a} has scope {scope}: a CPT needs distinct variables", a)
        factor = model.factor(a)
        child = factor.variables[-1]
        if child in cpts:
            raise model.error(f"variable {child} is the child (last variable) of two factors", a)
        cpts[child] = CPT(child, factor.table, factor.variables[:-1])
        factor_of[child] = a
    missing = [str(i) for i in range(len(model.cards)) if str(i) not in cpts]
    if missing:
        raise ParseError(f"variables {missing[:10]} have no CPT", path)
    cards = {str(i): c for i, c in enumerate(model.cards)}
    try:
        return BayesianNetwork(
            [cpts[str(i)] for i in range(len(model.cards))], cards=cards, name=_stem(path)
        )
    except ModelError as exc:  # e.g. rows not summing to one: point at that CPT's factor
        named = re.match(r"CPT of '(.+?)'", str(exc))
        if named and named.group(1) in factor_of:
            raise model.error(str(exc), factor_of[named.group(1)]) from exc
        raise ParseError(str(exc), path) from exc


def _numbering(variables: Sequence[str]) -> list[str]:
    """Variables in UAI index order: names "0".."n-1" keep their numbers (a file read by
    `read_uai` is written back unchanged); other names are numbered in model order."""
    if sorted(variables) == sorted(str(i) for i in range(len(variables))):
        return sorted(variables, key=int)
    return list(variables)


def _preamble(
    kind: str, variables: Sequence[str], cards: dict[str, int], scopes: Sequence[Sequence[str]]
) -> list[str]:
    order = _numbering(variables)
    index = {v: i for i, v in enumerate(order)}
    lines = [kind, str(len(order)), " ".join(str(cards[v]) for v in order), str(len(scopes))]
    lines += [" ".join(map(str, [len(s), *(index[v] for v in s)])) for s in scopes]
    return lines


def uai_string(model: BayesianNetwork | FactorGraph) -> str:
    """The model as UAI text: BAYES for a BayesianNetwork (factors (parents..., child)), MARKOV
    for a FactorGraph. Variables named "0".."n-1" keep their numbers, others are numbered in
    model order (topological for a network). State names are not part of the format."""
    if isinstance(model, BayesianNetwork):
        kind, variables = "BAYES", model.variables
        scopes = [(*model.parents(v), v) for v in variables]
        tables = [np.asarray(model.cpt(v).table) for v in variables]
    else:
        kind, variables = "MARKOV", model.variables
        scopes = [f.variables for f in model.factors]
        tables = [f.table for f in model.factors]
    lines = _preamble(kind, variables, model.cards, scopes)
    for table in tables:
        lines += ["", str(table.size), " ".join(map(repr, table.ravel().tolist()))]
    return "\n".join(lines) + "\n"


def write_uai(model: BayesianNetwork | FactorGraph, path: Source) -> None:
    """Write the model as a UAI file (atomically; gzip when `path` ends in .gz)."""
    write_text(path, uai_string(model))
