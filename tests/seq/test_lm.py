"""The character LM: exact log-likelihood, sampling, training, checkpoints, corpus, picture."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from genlab.gan.checkpoint import CheckpointError, list_checkpoints
from genlab.seq.compare import markov_lines, text_lines
from genlab.seq.corpus import SPLITS, Alphabet, corpus_split, load_topics, split_of
from genlab.seq.model import (
    CharLM,
    LMArchitecture,
    log_conditionals,
    log_conditionals_stepwise,
    sample,
)
from genlab.seq.plot import plot_directed_models
from genlab.seq.train import (
    LMTrainConfig,
    Parts,
    TrainingDiverged,
    bits_per_char,
    load_lm,
    train,
    train_step,
)


def tiny_model(cell: str = "gru", seed: int = 0) -> CharLM:
    torch.manual_seed(seed)
    return CharLM(LMArchitecture(vocab_size=7, cell=cell, embed_dim=5, hidden_size=12,
                                 num_layers=2, dropout=0.3))


def tiny_config(out: Path, **changes: object) -> LMTrainConfig:
    base = LMTrainConfig(out=str(out), hidden_size=24, embed_dim=8, dropout=0.2, max_chars=3000,
                         seq_len=16, batch_size=8, lr=1e-2, minutes=None, steps=40,
                         log_every=5, progress=False, threads=1)
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_log_likelihood_is_the_sum_of_stepwise_conditionals(cell: str) -> None:
    model = tiny_model(cell)
    codes = np.random.default_rng(0).integers(0, 7, size=23)
    chunked = log_conditionals(model, codes, chunk=5)  # hidden state carried across chunks
    stepwise = log_conditionals_stepwise(model, codes)
    np.testing.assert_allclose(chunked, stepwise, rtol=1e-5, atol=1e-6)
    assert np.all(stepwise < 0)
    # each conditional is normalised: summing p(w_1 = v) over v gives 1
    first = [np.exp(log_conditionals(model, [v])[0]) for v in range(7)]
    assert sum(first) == pytest.approx(1.0, abs=1e-6)
    assert model.training  # evaluation does not leave the model in eval mode


def test_sampling_is_seeded_and_temperature_zero_is_the_argmax() -> None:
    model = tiny_model()
    a = sample(model, 30, n=4, temperature=1.0, seed=3)
    np.testing.assert_array_equal(a, sample(model, 30, n=4, temperature=1.0, seed=3))
    assert not np.array_equal(a, sample(model, 30, n=4, temperature=1.0, seed=4))
    greedy = sample(model, 12, n=2, temperature=0.0, prompt=[1, 2])
    np.testing.assert_array_equal(greedy[0], greedy[1])
    model.eval()
    with torch.no_grad():
        inputs = torch.tensor([[model.bos, 1, 2, *greedy[0][:-1].tolist()]])
        logits, _ = model(inputs)
    np.testing.assert_array_equal(greedy[0], logits[0, 2:].argmax(-1).numpy())
    np.testing.assert_array_equal(sample(model, 12, n=2, temperature=1e-4, prompt=[1, 2],
                                         seed=9), greedy)
    with pytest.raises(ValueError, match="temperature"):
        sample(model, 3, temperature=-1.0)


def test_tiny_training_run_lowers_the_loss(tmp_path: Path) -> None:
    run = train(tiny_config(tmp_path / "run"))
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss_bits"] for r in records if "loss_bits" in r]
    assert losses[-1] < losses[0] - 1.0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 40 and summary["validation_bits_per_char"] < 6.0
    model, alphabet, meta = load_lm(run)
    assert meta["step"] == 40 and alphabet.size == model.arch.vocab_size
    codes = alphabet.encode(corpus_split("validation")[:500])
    assert bits_per_char(model, codes) == pytest.approx(
        -log_conditionals_stepwise(model, codes).sum() / 500 / np.log(2), rel=1e-5)


def test_resume_after_a_stop_gives_identical_weights(tmp_path: Path) -> None:
    # lr_decay=0: the schedule then does not depend on the budget of each invocation (a run
    # killed and resumed with the same --steps follows the same schedule anyway)
    straight = train(tiny_config(tmp_path / "a", steps=30, lr_decay=0.0))
    train(tiny_config(tmp_path / "b", steps=13, lr_decay=0.0))  # stops mid-epoch
    resumed = train(tiny_config(tmp_path / "b", steps=30, lr_decay=0.0, resume=True))
    first, _, _ = load_lm(straight)
    second, _, meta = load_lm(resumed)
    assert meta["state"]["epoch"] >= 1  # the runs crossed an epoch boundary
    for (name, p), q in zip(first.state_dict().items(), second.state_dict().values(),
                            strict=True):
        assert torch.equal(p, q), name
    with pytest.raises(ValueError, match="already holds checkpoints"):
        train(tiny_config(tmp_path / "a", steps=31))
    with pytest.raises(ValueError, match="hidden_size"):
        train(tiny_config(tmp_path / "a", steps=31, resume=True, hidden_size=32))


def test_checkpoint_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_lm(tmp_path / "nothing")
    broken = tmp_path / "run" / "checkpoints" / "step-00000001.safetensors"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a checkpoint")
    assert list_checkpoints(tmp_path / "run") == [broken]
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_lm(tmp_path / "run")


def test_non_finite_loss_stops_before_updating(tmp_path: Path) -> None:
    config = tiny_config(tmp_path)
    model = CharLM(config.architecture(10))
    with torch.no_grad():
        model.head.bias.fill_(float("nan"))
    parts = Parts(config, Alphabet("abcdefghi"), model, torch.optim.Adam(model.parameters()))
    before = [p.detach().clone() for p in model.parameters()]
    x = torch.zeros(2, 4, dtype=torch.long)
    with pytest.raises(TrainingDiverged, match="step 7: the loss is nan"):
        train_step(parts, x, x, True, 7)
    for p, q in zip(before, model.parameters(), strict=True):
        torch.testing.assert_close(p, q.detach(), equal_nan=True)


def test_corpus_split_is_deterministic_and_disjoint() -> None:
    topics = load_topics()
    owners = {split: [k for k in topics if split_of(k) == split] for split in SPLITS}
    assert sum(len(v) for v in owners.values()) == len(topics)
    assert all(owners[s] for s in SPLITS)
    train_text = corpus_split("train", topics)
    assert len(train_text) > 5 * len(corpus_split("test", topics))
    assert topics[owners["test"][0]] not in train_text
    alphabet = Alphabet.from_text(train_text)
    assert alphabet.decode(alphabet.encode("def f():\x00")) == "def f():\ufffd"
    with pytest.raises(ValueError, match="split"):
        corpus_split("dev")


def test_directed_model_picture_and_sampled_lines(tmp_path: Path) -> None:
    png = plot_directed_models(tmp_path / "dag.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    texts = ["\n\n  short \nthe longest line\nmid line", "x" * 300]
    assert text_lines(texts, width=50) == ["the longest line", "x" * 50]
    assert text_lines(texts, first=True)[0] == "short"
    lines = markov_lines(order=3, n=5, seed=1)
    assert len(lines) == 5 and lines == markov_lines(order=3, n=5, seed=1)
    assert sum(len(line) for line in lines) > 50


@pytest.mark.parametrize("name", ["genlab.seq.corpus", "genlab.seq.model"])
def test_docstring_examples_run(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
