"""Rows of data with missing cells as evidence for the exact engine, in blocks.

Shared by EM's E-step, log-likelihoods of incomplete rows and batched posterior queries of
data frames: a block of rows becomes hard evidence on the columns every row observes and
likelihood vectors (one-hot where observed, ones where missing) on the rest — one plan for
all rows ("soft") — or one block per missingness pattern ("patterns").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from genlab.pgm.learning.data import Dataset

__all__ = ["ESTEP_BLOCK_ROWS", "choose_estep", "evidence_blocks", "frame_marginals"]

ESTEP_BLOCK_ROWS = 16_384  # rows per engine call (bounds the likelihood arrays)


def choose_estep(rows: Dataset) -> str:
    """"patterns" when few missingness patterns cover many rows (e.g. one latent column),
    else "soft" (one plan for all rows)."""
    if rows.num_rows == 0:
        return "soft"
    patterns = np.unique(np.packbits(rows.missing, axis=1), axis=0).shape[0]
    return "patterns" if patterns <= 8 else "soft"


def evidence_blocks(rows: Dataset, estep: str) -> Iterator[tuple[dict[str, Any], np.ndarray]]:
    """Engine keyword arguments for blocks of incomplete rows, with the rows' indices.

    soft: hard evidence on the columns observed in every row of the block, one-hot / ones
    likelihood vectors on the others. patterns: one block per missingness pattern with hard
    evidence on its observed columns."""
    if rows.num_rows == 0:
        return
    missing = rows.missing
    if estep == "patterns":
        keys, inverse = np.unique(np.packbits(missing, axis=1), axis=0, return_inverse=True)
        for k in range(keys.shape[0]):
            index = np.flatnonzero(inverse.reshape(-1) == k)
            for part in _split(index):
                yield _hard(rows, part, ~missing[part[0]]), part
        return
    for part in _split(np.arange(rows.num_rows)):
        holes = missing[part]
        hard = ~holes.any(axis=0)
        kwargs = _hard(rows, part, hard)
        likelihood = {}
        for j in np.flatnonzero(~hard):
            v = rows.variables[j]
            card = len(rows.states[v])
            codes = rows.codes[part, j]
            lik = np.zeros((len(part), card))
            seen = codes >= 0
            lik[np.flatnonzero(seen), codes[seen]] = 1.0
            lik[~seen] = 1.0
            likelihood[v] = lik
        kwargs["likelihood"] = likelihood
        yield kwargs, part


def _split(index: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, len(index), ESTEP_BLOCK_ROWS):
        yield index[start : start + ESTEP_BLOCK_ROWS]


def _hard(rows: Dataset, part: np.ndarray, observed: np.ndarray) -> dict[str, Any]:
    cols = np.flatnonzero(observed)
    return {
        "evidence": np.asarray(rows.codes[np.ix_(part, cols)], dtype=np.intp),
        "columns": [rows.variables[j] for j in cols],
    }


def frame_marginals(model: Any, data: Any, variables: Any = None) -> Any:
    """Posterior marginals for every row of a data frame of evidence (missing cells are
    unobserved): a DataFrame with one column "P(v=s)" per state of each query variable
    (default: every variable the frame lacks or leaves missing somewhere), same index."""
    import pandas as pd

    from genlab.pgm.inference import engine
    from genlab.pgm.learning.data import as_dataset

    fg = model.to_factor_graph()
    present = [c for c in map(str, data.columns) if c in fg.cards]
    unknown = [c for c in map(str, data.columns) if c not in fg.cards]
    if unknown:
        raise ValueError(f"evidence columns {unknown} are not variables of the model")
    names = {v: fg.state_names(v) for v in fg.variables}
    rows = as_dataset(data[present], states=names, variables=present)
    if variables is None:
        variables = [v for v in fg.variables if v not in present or rows.column_missing[
            rows.index(v)]]
    columns = {f"P({v}={s})": np.empty(rows.num_rows) for v in variables for s in names[v]}
    eng = engine(model)
    for kwargs, index in evidence_blocks(rows, "soft"):
        post = eng.marginals(**kwargs)
        for v in variables:
            table = np.broadcast_to(post[v], (len(index), len(names[v])))
            for k, s in enumerate(names[v]):
                columns[f"P({v}={s})"][index] = table[:, k]
    return pd.DataFrame(columns, index=data.index)
