"""The metrics log: JSONL always, and the same scalars in TensorBoard when it is installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genlab.gan.monitor import MetricsLog


def test_metrics_go_to_jsonl_and_tensorboard(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="tensorboard is not installed (extra 'dev')")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log = MetricsLog(tmp_path)
    log.write({"step": 10, "d_loss": 1.25, "g_loss": 0.5, "warning": "text is not a scalar"})
    log.write({"step": 20, "d_loss": 1.0, "g_loss": 0.75})
    log.close()
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [10, 20] and lines[0]["warning"]
    board = EventAccumulator(str(tmp_path / "tensorboard"))
    board.Reload()
    assert sorted(board.Tags()["scalars"]) == ["d_loss", "g_loss"]
    assert [(e.step, e.value) for e in board.Scalars("d_loss")] == [(10, 1.25), (20, 1.0)]
    assert [(e.step, e.value) for e in board.Scalars("g_loss")] == [(10, 0.5), (20, 0.75)]


def test_a_disabled_log_writes_nothing(tmp_path: Path) -> None:
    log = MetricsLog(tmp_path, enabled=False)  # DDP ranks other than 0
    log.write({"step": 1, "d_loss": 1.0})
    log.close()
    assert list(tmp_path.iterdir()) == []
