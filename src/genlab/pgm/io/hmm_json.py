"""Hidden Markov models as JSON (no pickling): read, write, and the dict form.

    {"kind": "categorical", "symbols": ["a", "b"], "start": [...],
     "transition": [[...], ...], "emission": [[...], ...]}
    {"kind": "gaussian", "covariance_type": "diag" | "full", "start": [...],
     "transition": [[...]], "means": [[...]], "covariances": [[...]] | [[[...]]]}

Rows are hidden states. "diag" covariances are (K, D) variances, "full" are (K, D, D)
positive-definite matrices. An optional "covariance_prior" (number, default 0.01) is the
M-step's regulariser. Readers name the file, the line (for JSON syntax) and the key at fault.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from genlab.pgm.errors import ModelError
from genlab.pgm.io._source import read_json, write_text
from genlab.pgm.models.hmm import HiddenMarkovModel

__all__ = ["HMM_KINDS", "hmm_from_dict", "hmm_to_dict", "read_hmm_json", "write_hmm_json"]

HMM_KINDS = ("categorical", "gaussian")
_COMMON = {"kind", "start", "transition", "name", "version"}
_KEYS = {
    "categorical": _COMMON | {"symbols", "emission"},
    "gaussian": _COMMON | {"covariance_type", "means", "covariances", "covariance_prior"},
}


def hmm_to_dict(model: HiddenMarkovModel) -> dict[str, Any]:
    """The JSON-ready dict of a model (lists of floats, full precision)."""
    return model.to_dict()


def hmm_from_dict(data: Any, where: str | None = None) -> HiddenMarkovModel:
    """A model from its dict form; errors (ModelError) say which key is wrong (prefixed by
    `where`, when given)."""
    where = f"{where}: " if where else ""
    if not isinstance(data, dict):
        raise ModelError(f"{where}an HMM must be a JSON object, got {type(data).__name__}")
    kind = data.get("kind")
    if kind not in HMM_KINDS:
        raise ModelError(f"{where}\"kind\" must be one of {list(HMM_KINDS)}, got {kind!r}")
    unknown = sorted(set(data) - _KEYS[kind])
    if unknown:
        raise ModelError(f"{where}unknown key(s) {unknown} for a {kind} HMM (allowed: "
                         f"{sorted(_KEYS[kind])})")
    required = ["start", "transition"] + (["symbols", "emission"] if kind == "categorical"
                                          else ["covariance_type", "means", "covariances"])
    missing = [k for k in required if k not in data]
    if missing:
        raise ModelError(f"{where}missing key(s) {missing} for a {kind} HMM")
    try:
        if kind == "categorical":
            symbols = data["symbols"]
            if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
                raise ModelError("\"symbols\" must be a list of strings")
            return HiddenMarkovModel.categorical(data["start"], data["transition"],
                                                 data["emission"], symbols)
        return HiddenMarkovModel.gaussian(data["start"], data["transition"], data["means"],
                                          data["covariances"], data["covariance_type"],
                                          float(data.get("covariance_prior", 1e-2)))
    except (ModelError, TypeError, ValueError) as exc:
        raise ModelError(f"{where}{exc}") from None


def read_hmm_json(path: str | os.PathLike[str]) -> HiddenMarkovModel:
    """Read a model file; ParseError names the file and line (syntax) or the key (content)."""
    return read_json(path, hmm_from_dict)


def write_hmm_json(model: HiddenMarkovModel, path: str | os.PathLike[str]) -> Path:
    """Write a model as indented JSON, atomically; returns the path."""
    write_text(path, json.dumps(hmm_to_dict(model), indent=2) + "\n")
    return Path(path)
