"""Model, evidence and result files: BIF and UAI readers and writers (errors name file and line).

>>> from genlab.pgm.io import load_model
>>> load_model("network n {}\\nvariable a { type discrete [2] { y, n }; }\\n"
...            "probability ( a ) { table 0.5, 0.5; }")
BayesianNetwork 'n'(1 variables, 0 edges)
"""

from __future__ import annotations

import os

from genlab.pgm.io import bif, uai
from genlab.pgm.io._source import Source, looks_like_path
from genlab.pgm.io.bif import bif_string, read_bif, write_bif
from genlab.pgm.io.csv import iter_csv, read_csv, write_csv
from genlab.pgm.io.hmm_json import read_hmm_json, write_hmm_json
from genlab.pgm.io.hmm_sequences import read_sequences, write_sequences
from genlab.pgm.io.uai import read_uai, read_uai_bayesian_network, uai_string, write_uai
from genlab.pgm.io.uai_evidence import read_uai_evidence, uai_evidence_string, write_uai_evidence
from genlab.pgm.io.uai_result import (
    TASKS,
    UAIResult,
    read_uai_result,
    uai_result_string,
    write_uai_result,
)
from genlab.pgm.models import BayesianNetwork, FactorGraph

__all__ = [
    "TASKS",
    "UAIResult",
    "bif_string",
    "iter_csv",
    "load_model",
    "read_bif",
    "read_csv",
    "read_hmm_json",
    "read_sequences",
    "read_uai",
    "read_uai_bayesian_network",
    "read_uai_evidence",
    "read_uai_result",
    "uai_evidence_string",
    "uai_result_string",
    "uai_string",
    "write_bif",
    "write_csv",
    "write_hmm_json",
    "write_sequences",
    "write_uai",
    "write_uai_evidence",
    "write_uai_result",
]


def load_model(source: Source) -> BayesianNetwork | FactorGraph:
    """Read a model file chosen by suffix: .bif/.bif.gz → BayesianNetwork, .uai/.uai.gz →
    FactorGraph. BIF or UAI text (not a path) is recognised by its first word."""
    if looks_like_path(source, bif.SUFFIXES + uai.SUFFIXES):
        name = os.fspath(source).lower()
        if name.endswith(bif.SUFFIXES):
            return read_bif(source)
        if name.endswith(uai.SUFFIXES):
            return read_uai(source)
        raise ValueError(
            f"cannot tell the format of {os.fspath(source)!r}: "
            f"expected a name ending in {', '.join(bif.SUFFIXES + uai.SUFFIXES)}"
        )
    words = str(source).split(None, 1)
    return read_uai(source) if words and words[0].upper() in uai.KINDS else read_bif(source)
