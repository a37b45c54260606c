"""Learning Bayesian networks from data: counts, parameters (MLE, priors, EM), structure.

Importing this package needs only numpy and scipy; pandas is imported when a DataFrame or CSV
is read, dask only for a Dask DataFrame.
"""

from genlab.pgm.learning.counts import count, count_many
from genlab.pgm.learning.data import Dataset, as_dataset
from genlab.pgm.learning.graph import DAG, PDAG, GraphComparison, compare_graphs, cpdag, shd
from genlab.pgm.learning.scores import SCORES, Scorer, family_score

__all__ = [
    "DAG",
    "PDAG",
    "SCORES",
    "Dataset",
    "GraphComparison",
    "Scorer",
    "as_dataset",
    "compare_graphs",
    "count",
    "count_many",
    "cpdag",
    "family_score",
    "shd",
]
