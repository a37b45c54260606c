"""The examples in the learning and sampling docstrings run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "genlab.pgm.learning.counts",
    "genlab.pgm.learning.data",
    "genlab.pgm.learning.exact",
    "genlab.pgm.learning.graph",
    "genlab.pgm.learning.independence",
    "genlab.pgm.learning.learn",
    "genlab.pgm.learning.parameters",
    "genlab.pgm.learning.pc",
    "genlab.pgm.learning.scores",
    "genlab.pgm.learning.search",
    "genlab.pgm.learning.tree",
    "genlab.pgm.sampling",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
