"""Model classes; every one lowers to a FactorGraph, the one input of inference."""

from genlab.pgm.models.bayesian_network import CPT, BayesianNetwork
from genlab.pgm.models.clg import CLGNode, ConditionalLinearGaussianNetwork, HybridPosterior
from genlab.pgm.models.factor_graph import Evidence, FactorGraph
from genlab.pgm.models.gaussian import (
    GaussianCPD,
    GaussianDistribution,
    LinearGaussianBayesianNetwork,
)
from genlab.pgm.models.hmm import HiddenMarkovModel
from genlab.pgm.models.markov import MarkovChain

__all__ = [
    "CPT",
    "BayesianNetwork",
    "CLGNode",
    "ConditionalLinearGaussianNetwork",
    "Evidence",
    "FactorGraph",
    "GaussianCPD",
    "GaussianDistribution",
    "HiddenMarkovModel",
    "HybridPosterior",
    "LinearGaussianBayesianNetwork",
    "MarkovChain",
]
