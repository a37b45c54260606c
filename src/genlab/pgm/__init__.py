"""Graphical models: factors as tensors, exact inference by planned contraction.

>>> from genlab.pgm import examples, marginals
>>> m = marginals(examples.red_blue_network(), {"X1": "red"})
>>> round(float(m["X2"][0]), 3)
0.7

Learning from data lives in genlab.pgm.learning (`fit`, `learn`, `log_likelihood` are
re-exported here) and sampling in genlab.pgm.sampling (`sample`). Importing this package needs
only numpy, scipy and opt_einsum (never torch); pandas loads when data frames are used.
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
from genlab.pgm.io import load_model, read_bif, read_csv, read_uai, write_bif, write_csv, write_uai
from genlab.pgm.io.gaussian_json import read_gaussian_json, write_gaussian_json
from genlab.pgm.learning import fit, fit_gaussian, learn, learn_gaussian, log_likelihood
from genlab.pgm.models import (
    CPT,
    BayesianNetwork,
    FactorGraph,
    GaussianCPD,
    HiddenMarkovModel,
    LinearGaussianBayesianNetwork,
    MarkovChain,
)
from genlab.pgm.models.hmm_fit import baum_welch, fit_hmm
from genlab.pgm.plan import ContractionPlan, plan_contraction
from genlab.pgm.sampling import sample

__all__ = [
    "CPT",
    "BayesianNetwork",
    "ContractionPlan",
    "ContractionTooLarge",
    "ExactInference",
    "Factor",
    "FactorGraph",
    "GaussianCPD",
    "HiddenMarkovModel",
    "LinearGaussianBayesianNetwork",
    "MapResult",
    "MarkovChain",
    "ModelError",
    "ParseError",
    "ZeroEvidenceError",
    "baum_welch",
    "engine",
    "examples",
    "fit",
    "fit_gaussian",
    "fit_hmm",
    "learn",
    "learn_gaussian",
    "load_model",
    "log_likelihood",
    "log_partition",
    "map_assignment",
    "marginals",
    "plan_contraction",
    "query",
    "read_bif",
    "read_csv",
    "read_gaussian_json",
    "read_uai",
    "sample",
    "write_bif",
    "write_csv",
    "write_gaussian_json",
    "write_uai",
]
