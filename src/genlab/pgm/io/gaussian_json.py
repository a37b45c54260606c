"""Linear-Gaussian networks as JSON (a fixed format other tools read):

    {"nodes": [{"name": "x2", "parents": ["x1"], "weights": [1.0], "bias": 0.0,
                "variance": 0.25}, ...]}

Syntax errors name the file and line; a malformed node names the file and the node.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from genlab.pgm.io._source import read_json, write_text
from genlab.pgm.models.gaussian import LinearGaussianBayesianNetwork

__all__ = ["gaussian_json_string", "read_gaussian_json", "write_gaussian_json"]


def read_gaussian_json(path: str | os.PathLike[str]) -> LinearGaussianBayesianNetwork:
    """A `LinearGaussianBayesianNetwork` from a JSON file (.gz decompressed)."""
    return read_json(path, lambda spec: LinearGaussianBayesianNetwork.from_dict(
        spec, name=Path(os.fspath(path)).name.split(".")[0]))


def gaussian_json_string(network: LinearGaussianBayesianNetwork) -> str:
    """The JSON text of a network (nodes in topological order)."""
    return json.dumps(network.to_dict(), indent=2) + "\n"


def write_gaussian_json(network: LinearGaussianBayesianNetwork,
                        path: str | os.PathLike[str]) -> Path:
    """Write a network as JSON, atomically (gzip when the name ends in .gz); returns the
    path."""
    write_text(path, gaussian_json_string(network))
    return Path(path)
