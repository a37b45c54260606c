"""On the real bnlearn networks: every marginal from the backward pass equals a ratio of two
forward contractions, P(X=s | e) = P(e, X=s) / P(e), and all planners agree on log P(e)."""

from __future__ import annotations

import numpy as np
import pytest

from genlab.pgm import ExactInference, read_bif
from tests.conftest import shared_data

FAST = ["asia", "child", "insurance", "alarm", "hailfinder", "win95pts"]
SLOW = ["water", "hepar2", "pathfinder", "andes", "pigs", "munin1"]


def _network_and_evidence(name: str, fraction: float = 0.1):
    bn = read_bif(shared_data("bnlearn", f"{name}.bif.gz"))
    rng = np.random.default_rng(7)
    sample = bn.sample(1, seed=7)[0]
    k = max(1, round(fraction * len(bn.variables)))
    chosen = rng.choice(len(bn.variables), size=k, replace=False)
    return bn, {bn.variables[i]: int(sample[i]) for i in chosen}


@pytest.mark.parametrize("name", FAST + [pytest.param(n, marks=pytest.mark.slow) for n in SLOW])
def test_marginals_equal_ratios_of_evidence_probabilities(name: str) -> None:
    bn, evidence = _network_and_evidence(name)
    engine = ExactInference(bn)
    log_pe = engine.log_partition(evidence)
    marginals = engine.marginals(evidence)
    rng = np.random.default_rng(1)
    free = [v for v in bn.variables if v not in evidence]
    for v in rng.choice(free, size=min(5, len(free)), replace=False):
        card = bn.cards[v]
        rows = [{**evidence, v: s} for s in range(card)]  # one batched forward call
        joint = np.exp(engine.log_partition(rows) - log_pe)
        np.testing.assert_allclose(marginals[v], joint, rtol=1e-9, atol=1e-14)
        assert joint.sum() == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize("name", FAST)
def test_planners_agree(name: str) -> None:
    bn, evidence = _network_and_evidence(name)
    values = {
        p: ExactInference(bn, p).log_partition(evidence)
        for p in ("min-fill", "min-degree", "greedy")
    }
    ref = values["min-fill"]
    for planner, value in values.items():
        assert value == pytest.approx(ref, rel=1e-12, abs=1e-12), planner
    best = {
        p: ExactInference(bn, p).map_assignment(evidence).log_probability
        for p in ("min-fill", "greedy")
    }
    assert best["greedy"] == pytest.approx(best["min-fill"], rel=1e-12)
