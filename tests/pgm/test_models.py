"""Model construction: validation errors that say what is wrong, and basic behaviour."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from genlab.pgm import (
    CPT,
    BayesianNetwork,
    ContractionTooLarge,
    ExactInference,
    Factor,
    FactorGraph,
    ModelError,
    ZeroEvidenceError,
)
from genlab.pgm.examples import red_blue_network


def test_cycle_is_named() -> None:
    with pytest.raises(ModelError, match=r"directed cycle: a -> c -> b -> a|a -> b -> c -> a"):
        BayesianNetwork(
            [
                CPT("a", [[0.5, 0.5], [0.5, 0.5]], ["b"]),
                CPT("b", [[0.5, 0.5], [0.5, 0.5]], ["c"]),
                CPT("c", [[0.5, 0.5], [0.5, 0.5]], ["a"]),
            ]
        )


def test_cpt_column_not_summing_to_one_names_the_configuration() -> None:
    with pytest.raises(ModelError, match=r"'wet'.*rain=no.*sum to 1\.1"):
        BayesianNetwork(
            [CPT("rain", [0.2, 0.8]), CPT("wet", [[0.9, 0.1], [0.3, 0.8]], ["rain"])],
            states={"rain": ["yes", "no"], "wet": ["yes", "no"]},
        )


def test_negative_entries_rejected() -> None:
    with pytest.raises(ModelError, match="negative"):
        BayesianNetwork([CPT("a", [1.5, -0.5])])
    with pytest.raises(ModelError, match="negative"):
        Factor(("a",), [1.0, -1.0])


def test_shape_mismatch_and_unknown_parent() -> None:
    with pytest.raises(ModelError, match=r"shape \(2, 3\), expected \(2, 2\)"):
        BayesianNetwork(
            [CPT("a", [0.5, 0.5]), CPT("b", np.full((2, 3), 1 / 3), ["a"])],
            states={"b": ["x", "y"]},
        )
    with pytest.raises(ModelError, match="unknown parent 'z'"):
        BayesianNetwork([CPT("a", [[0.5, 0.5]], ["z"])])


def test_unknown_state_lists_known_states() -> None:
    bn = red_blue_network()
    with pytest.raises(ModelError, match=r"unknown state 'green' of 'X1' \(states: red, blue\)"):
        ExactInference(bn).marginals({"X1": "green"})
    with pytest.raises(ModelError, match="unknown variable 'X9'"):
        ExactInference(bn).marginals({"X9": "red"})


def test_zero_probability_evidence_is_an_error_not_nan() -> None:
    bn = BayesianNetwork(
        [CPT("a", [1.0, 0.0]), CPT("b", [[1.0, 0.0], [0.5, 0.5]], ["a"])],
        states={"a": ["t", "f"], "b": ["t", "f"]},
    )
    eng = ExactInference(bn)
    assert eng.log_partition({"b": "f"}) == -np.inf
    with pytest.raises(ZeroEvidenceError, match="probability zero"):
        eng.marginals({"b": "f"})
    with pytest.raises(ZeroEvidenceError, match=r"rows \[1\]"):
        eng.marginals([{"b": "t"}, {"b": "f"}])
    with pytest.raises(ZeroEvidenceError):
        eng.map_assignment({"b": "f"})
    with pytest.raises(ZeroEvidenceError):
        eng.query(["a"], {"b": "f"})


def test_memory_budget_fails_fast_with_estimate() -> None:
    # a 12-clique of binary pairwise factors: the contraction needs ~2^11-entry intermediates
    names = [f"v{i}" for i in range(12)]
    rng = np.random.default_rng(0)
    factors = [
        Factor((a, b), rng.random((2, 2)) + 0.1)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    ]
    eng = ExactInference(FactorGraph(factors), max_memory=1024)
    with pytest.raises(ContractionTooLarge, match=r"GiB for one evidence row \(plan .*flops"):
        eng.log_partition()
    assert np.isfinite(ExactInference(FactorGraph(factors)).log_partition())


def test_isolated_variables_multiply_z_by_their_cardinality() -> None:
    fg = FactorGraph([Factor(("a",), [1.0, 2.0])], cards={"b": 3})
    eng = ExactInference(fg)
    assert np.exp(eng.log_partition()) == pytest.approx(9.0)
    np.testing.assert_allclose(eng.marginals()["b"], [1 / 3] * 3)
    assert eng.query(["b", "a"]).table.shape == (3, 2)


def test_ancestral_sampling_frequencies() -> None:
    bn = red_blue_network()
    samples = bn.sample(200_000, seed=1)
    # P(X4 = red) from the lecture's tables, by enumeration of X2, X3
    p2 = 0.4 * 0.7 + 0.6 * 0.5
    want = sum(
        (p2 if a == 0 else 1 - p2) * (0.6 if b == 0 else 0.4) * t
        for (a, b), t in {(0, 0): 0.5, (0, 1): 0.8, (1, 0): 0.6, (1, 1): 0.3}.items()
    )
    freq = (samples[:, bn.variables.index("X4")] == 0).mean()
    assert abs(freq - want) < 4 * np.sqrt(want * (1 - want) / len(samples))


def test_factor_operations() -> None:
    f = Factor(("a", "b"), [[1.0, 2.0], [3.0, 4.0]])
    g = Factor(("b", "c"), [[1.0, 0.0, 2.0], [0.5, 1.0, 1.0]])
    h = f * g
    assert h.variables == ("a", "b", "c")
    assert h.table[1, 0, 2] == 3.0 * 2.0
    assert f.marginalize(["a"]).table.tolist() == [4.0, 6.0]
    assert f.maximize(["b"]).table.tolist() == [2.0, 4.0]
    assert f.reduce({"b": 1}).table.tolist() == [2.0, 4.0]
    assert f.permute(("b", "a")).table.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert f.normalize().table.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="read-only"):
        f.table[0, 0] = 5.0


def test_import_pgm_does_not_import_torch() -> None:
    code = "import genlab.pgm, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_batches_split_by_the_memory_budget_give_the_same_answers() -> None:
    bn = red_blue_network()
    rows = bn.sample(7, seed=3)[:, [0, 2, 3]]  # X1, X3, X4 observed
    columns = ["X1", "X3", "X4"]
    roomy = ExactInference(bn)
    plan = roomy.plan(columns)
    per_row_bytes = 8 * (2 * plan.total_intermediate + 64)
    tight = ExactInference(bn, max_memory=3 * per_row_bytes)  # a few rows per chunk
    for method in ("log_partition", "marginals", "map_assignment"):
        want = getattr(roomy, method)(rows, columns=columns)
        got = getattr(tight, method)(rows, columns=columns)
        if method == "marginals":
            for v in bn.variables:
                np.testing.assert_allclose(got[v], want[v], rtol=1e-12)
        elif method == "map_assignment":
            np.testing.assert_allclose(got.log_probability, want.log_probability, rtol=1e-12)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-12)
