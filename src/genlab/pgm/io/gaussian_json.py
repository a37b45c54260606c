"""Linear-Gaussian networks as JSON (a fixed format other tools read):

    {"nodes": [{"name": "x2", "parents": ["x1"], "weights": [1.0], "bias": 0.0,
                "variance": 0.25}, ...]}

Syntax errors name the file and line; a malformed node names the file and the node.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from genlab._atomic import atomic_write_bytes
from genlab.pgm.errors import ModelError, ParseError
from genlab.pgm.models.gaussian import LinearGaussianBayesianNetwork

__all__ = ["gaussian_json_string", "read_gaussian_json", "write_gaussian_json"]


def read_gaussian_json(path: str | os.PathLike[str]) -> LinearGaussianBayesianNetwork:
    """A `LinearGaussianBayesianNetwork` from a JSON file."""
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise ParseError(f"cannot read: {exc.strerror or exc}", name) from None
    try:
        spec: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg} (column {exc.colno})", name, exc.lineno
                         ) from None
    try:
        return LinearGaussianBayesianNetwork.from_dict(spec, name=Path(name).stem)
    except (ModelError, TypeError, ValueError) as exc:
        raise ParseError(str(exc), name) from None


def gaussian_json_string(network: LinearGaussianBayesianNetwork) -> str:
    """The JSON text of a network (nodes in topological order)."""
    return json.dumps(network.to_dict(), indent=2) + "\n"


def write_gaussian_json(network: LinearGaussianBayesianNetwork,
                        path: str | os.PathLike[str]) -> Path:
    """Write a network as JSON, atomically; returns the path."""
    return atomic_write_bytes(path, gaussian_json_string(network).encode("utf-8"))
