"""The guided tour: `genlab tour` runs every registered section and writes a run folder.

Sections are registered by dotted path ("module:function") so that the tour imports a half
of the library (and torch) only when its section runs. Each section receives a
:class:`TourContext` and returns Markdown text for the report; files it makes go in
``ctx.run_dir``.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.markdown import Markdown
from rich.rule import Rule

from genlab._version import __version__

__all__ = [
    "TOUR_SECTIONS",
    "TourContext",
    "TourResult",
    "default_run_dir",
    "markdown_table",
    "one_torch_thread",
    "run_tour",
]


@dataclass
class TourContext:
    """What a tour section may use: where to write, how hard to work, how to talk."""

    run_dir: Path
    fast: bool = False
    seed: int = 0
    console: Console = field(default_factory=Console)
    outputs: list[Path] = field(default_factory=list)

    def output(self, name: str) -> Path:
        """Path of a file named `name` inside the run folder, recorded for the summary."""
        path = self.run_dir / name
        self.outputs.append(path)
        return path


@dataclass(frozen=True)
class TourResult:
    """Where the tour wrote its report and what else it produced."""

    run_dir: Path
    report: Path
    outputs: tuple[Path, ...]
    seconds: float


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run a torch section on one intra-op thread, restoring the count after.

    On a busy 2-core machine two OpenMP threads made a DCGAN step ~4× slower than one (28 vs
    203 steps in 2 minutes), while one thread loses little when the machine is idle.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table for a section's report."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _overview(ctx: TourContext) -> str:
    """What genlab is and which parts exist in this version."""
    return (
        f"genlab {__version__} — learn p_θ(x) ≈ p*(x), then sample and query it.\n\n"
        "* **genlab.pgm** — graphical models as tensor networks: factors are tensors, and the "
        "partition function Z, marginals and MAP are one planned contraction in different "
        "semirings; networks are learned from data (structure search, PC, EM) and sampled; "
        "where the contraction is too wide, loopy BP, sampling and MAP search answer "
        "with an honest label; linear-Gaussian networks, Markov chains and HMMs.\n"
        "* **genlab.seq** — a character-level GRU language model, the lecture's RNN as a "
        "directed model, scored against Markov chains in bits per character.\n"
        "* **genlab.gan** — DCGAN and PatchGAN, trained by Goodfellow et al.'s Algorithm 1 "
        "(k discriminator steps per generator step), class-conditional GANs, sampling and "
        "latent interpolation; the image tasks (super-resolution, inpainting, colorization, "
        "uncropping, style transfer) and text-to-image on the same loop.\n"
        "* **genlab.provenance** — keyed watermarks (post-hoc and built into a generator), "
        "fake-image detection, model attribution and memorization checks.\n\n"
        "Command line: `genlab --help` lists `pgm`, `hmm`, `seq`, `gan`, `image`, `text2img` "
        "and `provenance`."
    )


# (title, "module:function") in the order they run. Each feature issue adds its section here.
TOUR_SECTIONS: list[tuple[str, str | Callable[[TourContext], str]]] = [
    ("genlab at a glance", _overview),
    ("Graphical models: the lecture's worked examples", "genlab.pgm.tour:tour_section"),
    ("Model files: BIF and UAI, read and written exactly", "genlab.pgm.io.tour:tour_section"),
    ("Learning from data: structure, CPTs and EM", "genlab.pgm.learning.tour:tour_section"),
    ("Beyond exact width: loopy BP, sampling and MAP search",
     "genlab.pgm.approximate_tour:tour_section"),
    ("Continuous and sequential models: Gaussian networks, Markov chains, HMMs",
     "genlab.pgm.models.tour:tour_section"),
    ("The RNN language model as a directed model", "genlab.seq.tour:tour_section"),
    ("GANs: a class-conditional DCGAN on MNIST", "genlab.gan.tour:tour_section"),
    ("Image tasks: super-resolution, inpainting, colorization, uncropping, style transfer",
     "genlab.gan.tasks.tour:tour_section"),
    ("Text to image: captions in, pictures out, attributes read back",
     "genlab.gan.text.tour:tour_section"),
    ("Provenance: watermarks, fake detection, nearest training images",
     "genlab.provenance.tour:tour_section"),
]


def _resolve(target: str | Callable[[TourContext], str]) -> Callable[[TourContext], str]:
    """Import a "module:function" section lazily; callables pass through."""
    if callable(target):
        return target
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def default_run_dir(root: Path = Path("runs")) -> Path:
    """A fresh, time-stamped run folder name under `root` (not created)."""
    return root / f"tour-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def run_tour(
    run_dir: Path | None = None,
    *,
    fast: bool = False,
    seed: int = 0,
    console: Console | None = None,
    only: list[str] | None = None,
) -> TourResult:
    """Run the tour's sections (all, or those whose title contains one of `only`)."""
    console = console or Console()
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    ctx = TourContext(run_dir=run_dir, fast=fast, seed=seed, console=console)
    start = time.perf_counter()
    parts = [f"# genlab tour\n\ngenlab {__version__}, {datetime.now():%Y-%m-%d %H:%M}, "
             f"mode: {'fast' if fast else 'full'}\n"]
    for title, target in TOUR_SECTIONS:
        if only and not any(key.lower() in title.lower() for key in only):
            continue
        console.print(Rule(title))
        t0 = time.perf_counter()
        text = _resolve(target)(ctx)
        console.print(Markdown(text))
        parts.append(f"## {title}\n\n{text}\n\n_({time.perf_counter() - t0:.1f} s)_\n")
    report = run_dir / "report.md"
    report.write_text("\n".join(parts), encoding="utf-8")
    seconds = time.perf_counter() - start
    return TourResult(run_dir, report, (report, *ctx.outputs), seconds)
