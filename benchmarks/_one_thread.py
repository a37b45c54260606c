"""Shared by the single-thread peer benchmarks: BLAS pinned to one thread (import this module
before numpy), and best-of-N CPU timing."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    """(result, best CPU seconds of `repeat` runs): CPU time barely moves when other jobs load
    the machine, and later runs skip first-touch page faults."""
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return out, best
