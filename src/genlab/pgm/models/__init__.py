"""Model classes; every one lowers to a FactorGraph, the one input of inference."""

from genlab.pgm.models.bayesian_network import CPT, BayesianNetwork
from genlab.pgm.models.factor_graph import Evidence, FactorGraph
from genlab.pgm.models.gaussian import (
    GaussianCPD,
    GaussianDistribution,
    LinearGaussianBayesianNetwork,
)

__all__ = [
    "CPT",
    "BayesianNetwork",
    "Evidence",
    "FactorGraph",
    "GaussianCPD",
    "GaussianDistribution",
    "LinearGaussianBayesianNetwork",
]
