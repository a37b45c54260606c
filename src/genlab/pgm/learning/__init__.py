"""Learning Bayesian networks from data: counts, parameters (MLE, priors, EM), structure.

>>> from genlab.pgm import examples, sample
>>> from genlab.pgm.learning import learn, shd
>>> truth = examples.red_blue_network()
>>> result = learn(sample(truth, 5000, seed=0))          # tabu search, BIC, then MLE CPTs
>>> shd(result.cpdag, truth)
0

Importing this package needs only numpy and scipy; pandas is imported when a DataFrame or CSV
is read, dask only for a Dask DataFrame.
"""

from genlab.pgm.learning.counts import count, count_many
from genlab.pgm.learning.data import Dataset, as_dataset, to_frame
from genlab.pgm.learning.exact import exact_search
from genlab.pgm.learning.gaussian import (
    GaussianScorer,
    GaussianStatistics,
    fit_gaussian,
    gaussian_statistics,
    learn_gaussian,
)
from genlab.pgm.learning.graph import DAG, PDAG, GraphComparison, compare_graphs, cpdag, shd
from genlab.pgm.learning.independence import CITest, ci_test, independence_test
from genlab.pgm.learning.learn import METHODS, LearnResult, learn
from genlab.pgm.learning.parameters import EMResult, em, fit, log_likelihood
from genlab.pgm.learning.pc import PCResult, pc
from genlab.pgm.learning.rows import frame_marginals
from genlab.pgm.learning.scores import SCORES, Scorer, family_score
from genlab.pgm.learning.search import Move, SearchResult, hill_climb, tabu_search
from genlab.pgm.learning.sources import ChunkedSource, as_source, csv_chunks
from genlab.pgm.learning.tree import chow_liu, mutual_information, tan

__all__ = [
    "DAG",
    "METHODS",
    "PDAG",
    "SCORES",
    "CITest",
    "ChunkedSource",
    "Dataset",
    "EMResult",
    "GaussianScorer",
    "GaussianStatistics",
    "GraphComparison",
    "LearnResult",
    "Move",
    "PCResult",
    "Scorer",
    "SearchResult",
    "as_dataset",
    "as_source",
    "chow_liu",
    "ci_test",
    "compare_graphs",
    "count",
    "count_many",
    "cpdag",
    "csv_chunks",
    "em",
    "exact_search",
    "family_score",
    "fit",
    "fit_gaussian",
    "frame_marginals",
    "gaussian_statistics",
    "hill_climb",
    "independence_test",
    "learn",
    "learn_gaussian",
    "log_likelihood",
    "mutual_information",
    "pc",
    "shd",
    "tabu_search",
    "tan",
    "to_frame",
]
