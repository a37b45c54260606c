"""Every exact query against brute-force enumeration on random models (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genlab.pgm.errors import ZeroEvidenceError
from genlab.pgm.inference import ExactInference
from genlab.pgm.plan import PLANNERS
from genlab.pgm.testing import (
    bayesian_networks,
    brute_log_partition,
    brute_map,
    brute_marginals,
    brute_query,
    evidence_for,
    factor_graphs,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PLANNER_NAMES = [p for p in PLANNERS if p != "cotengra"] + ["auto"]


def _posterior_exists(model, evidence) -> bool:
    return np.isfinite(brute_log_partition(model, evidence))


@SETTINGS
@given(model=factor_graphs(), seed=st.integers(0, 2**31), planner=st.sampled_from(PLANNER_NAMES))
def test_log_partition_matches_enumeration(model, seed, planner) -> None:
    rng = np.random.default_rng(seed)
    evidence = evidence_for(model, rng)
    got = ExactInference(model, planner).log_partition(evidence)
    want = brute_log_partition(model, evidence)
    if np.isneginf(want):
        assert np.isneginf(got)
    else:
        assert got == pytest.approx(want, rel=1e-10, abs=1e-10)


@SETTINGS
@given(model=factor_graphs(), seed=st.integers(0, 2**31), planner=st.sampled_from(PLANNER_NAMES))
def test_marginals_match_enumeration(model, seed, planner) -> None:
    rng = np.random.default_rng(seed)
    evidence = evidence_for(model, rng)
    eng = ExactInference(model, planner)
    if not _posterior_exists(model, evidence):
        with pytest.raises(ZeroEvidenceError):
            eng.marginals(evidence)
        return
    got = eng.marginals(evidence)
    want = brute_marginals(model, evidence)
    assert set(got) == set(want)
    for v in want:
        np.testing.assert_allclose(got[v], want[v], rtol=1e-9, atol=1e-12)


@SETTINGS
@given(model=bayesian_networks(), seed=st.integers(0, 2**31))
def test_bayesian_network_marginals_and_evidence_probability(model, seed) -> None:
    rng = np.random.default_rng(seed)
    evidence = evidence_for(model, rng)
    eng = ExactInference(model)
    assert eng.log_partition() == pytest.approx(0.0, abs=1e-12)  # a BN is normalized
    assert eng.log_partition(evidence) == pytest.approx(brute_log_partition(model, evidence))
    got = eng.marginals(evidence)
    for v, want in brute_marginals(model, evidence).items():
        np.testing.assert_allclose(got[v], want, rtol=1e-9, atol=1e-12)


@SETTINGS
@given(model=factor_graphs(zeros=False), seed=st.integers(0, 2**31))
def test_joint_query_matches_enumeration(model, seed) -> None:
    rng = np.random.default_rng(seed)
    evidence = evidence_for(model, rng)
    free = [v for v in model.variables if v not in evidence]
    if not free:
        return
    k = int(rng.integers(1, min(3, len(free)) + 1))
    chosen = [free[i] for i in rng.choice(len(free), size=k, replace=False)]
    got = ExactInference(model).query(chosen, evidence)
    assert got.variables == tuple(chosen)
    np.testing.assert_allclose(
        got.table, brute_query(model, chosen, evidence), rtol=1e-9, atol=1e-12
    )


@SETTINGS
@given(model=factor_graphs(), seed=st.integers(0, 2**31), planner=st.sampled_from(PLANNER_NAMES))
def test_map_value_matches_enumeration(model, seed, planner) -> None:
    rng = np.random.default_rng(seed)
    evidence = evidence_for(model, rng)
    eng = ExactInference(model, planner)
    _, want_value = brute_map(model, evidence)
    if np.isneginf(want_value):
        with pytest.raises(ZeroEvidenceError):
            eng.map_assignment(evidence)
        return
    got = eng.map_assignment(evidence)
    assert got.log_probability == pytest.approx(want_value, rel=1e-10, abs=1e-10)
    # the assignment itself must reach that value (ties may pick another argmax)
    assert model.log_score(got.assignment) == pytest.approx(want_value, rel=1e-10, abs=1e-10)
    for v, s in evidence.items():
        assert got.assignment[v] == s


@SETTINGS
@given(model=factor_graphs(zeros=False), seed=st.integers(0, 2**31))
def test_batched_evidence_equals_row_by_row(model, seed) -> None:
    rng = np.random.default_rng(seed)
    observed = list(
        rng.choice(
            model.variables, size=int(rng.integers(0, len(model.variables) + 1)), replace=False
        )
    )
    rows = np.array(
        [[rng.integers(model.cards[v]) for v in observed] for _ in range(5)], dtype=np.intp
    ).reshape(5, len(observed))
    eng = ExactInference(model)
    dict_rows = [dict(zip(observed, map(int, r), strict=True)) for r in rows]
    log_z = eng.log_partition(rows, columns=observed)
    marg = eng.marginals(dict_rows)
    maps = eng.map_assignment(rows, columns=observed)
    free = [v for v in model.variables if v not in observed][:2]
    joint = eng.query(free, dict_rows) if free else None
    for i, ev in enumerate(dict_rows):
        assert log_z[i] == pytest.approx(brute_log_partition(model, ev), rel=1e-10, abs=1e-10)
        for v, want in brute_marginals(model, ev).items():
            np.testing.assert_allclose(marg[v][i], want, rtol=1e-9, atol=1e-12)
        assert maps.log_probability[i] == pytest.approx(
            brute_map(model, ev)[1], rel=1e-10, abs=1e-10
        )
        if joint is not None:
            np.testing.assert_allclose(
                joint[i], brute_query(model, free, ev), rtol=1e-9, atol=1e-12
            )
        assignment = {v: int(maps.assignment[v][i]) for v in model.variables}
        assert model.log_score(assignment) == pytest.approx(maps.log_probability[i], abs=1e-9)
