"""Graphical models: factors as tensors, exact inference by planned contraction.

>>> from genlab.pgm import examples, marginals
>>> m = marginals(examples.red_blue_network(), {"X1": "red"})
>>> round(float(m["X2"][0]), 3)
0.7

Importing this package needs only numpy, scipy and opt_einsum (never torch).
"""

from genlab.pgm import examples
from genlab.pgm.errors import ContractionTooLarge, ModelError, ParseError, ZeroEvidenceError
from genlab.pgm.factor import Factor
from genlab.pgm.inference import (
    ExactInference,
    MapResult,
    engine,
    log_partition,
    map_assignment,
    marginals,
    query,
)
from genlab.pgm.io import load_model, read_bif, read_uai, write_bif, write_uai
from genlab.pgm.models import CPT, BayesianNetwork, FactorGraph
from genlab.pgm.plan import ContractionPlan, plan_contraction

__all__ = [
    "CPT",
    "BayesianNetwork",
    "ContractionPlan",
    "ContractionTooLarge",
    "ExactInference",
    "Factor",
    "FactorGraph",
    "MapResult",
    "ModelError",
    "ParseError",
    "ZeroEvidenceError",
    "engine",
    "examples",
    "load_model",
    "log_partition",
    "map_assignment",
    "marginals",
    "plan_contraction",
    "query",
    "read_bif",
    "read_uai",
    "write_bif",
    "write_uai",
]
