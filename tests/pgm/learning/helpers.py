"""Shared test helpers for the learning tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from genlab.pgm.learning.counts import count_many
from genlab.pgm.learning.data import Dataset


class PassCounter:
    """A count source over a Dataset that records its data passes (`count_many` calls)."""

    def __init__(self, data: Dataset) -> None:
        self.data = data
        self.variables = data.variables
        self.states = data.states
        self.passes = 0

    def count_many(self, scopes: Sequence[Sequence[str]]) -> list[np.ndarray]:
        self.passes += 1
        return count_many(self.data, scopes)
