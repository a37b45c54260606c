"""`genlab seq ...`: the character language model (train, sample, eval, plot).

torch is imported inside the commands only, so `genlab --help` and the PGM commands stay light.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from genlab.cli.gan import CKPT_HELP as RUN_HELP
from genlab.cli.gan import _fail, console  # one error printer for the torch command groups

app = typer.Typer(
    help="Character-level RNN language model on CPython's documentation topics, against Markov "
         "chains of order 1–5.",
    no_args_is_help=True,
)
@app.command()
def train(
    out: Path = typer.Option(..., "--out", "-o", help="Run folder: checkpoints, metrics."),
    minutes: float | None = typer.Option(
        None, "--minutes", "-m", help="Wall-clock budget of this invocation (default 10 if no "
                                      "--steps)."),
    steps: int | None = typer.Option(
        None, "--steps", "-n", help="Stop at this many steps in total (across resumes)."),
    cell: str = typer.Option("gru", help="gru or lstm."),
    hidden_size: int = typer.Option(512, help="Units of the recurrent layer(s)."),
    num_layers: int = typer.Option(1, help="Stacked recurrent layers."),
    embed_dim: int = typer.Option(64, help="Character embedding size."),
    dropout: float = typer.Option(0.2, help="Dropout on embeddings and outputs."),
    seq_len: int = typer.Option(64, help="Truncated-BPTT length (characters per chunk)."),
    batch_size: int = typer.Option(32, help="Contiguous rows per step."),
    lr: float = typer.Option(3e-3, help="Adam learning rate."),
    lr_decay: float = typer.Option(
        1.0, help="Lower the lr linearly to 5% over this last fraction of the budget; 0 = off."),
    clip: float = typer.Option(1.0, help="Gradient-norm clipping."),
    max_chars: int = typer.Option(0, help="Train on the first N characters only (0 = all)."),
    seed: int = typer.Option(0, help="Seed of initialisation and dropout."),
    threads: int = typer.Option(0, help="CPU threads (0 = torch's default)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out exactly."),
    checkpoint_minutes: float = typer.Option(1.0, help="Checkpoint at least this often."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train (or resume) the character LM by truncated BPTT; checkpoints resume exactly.

    Example: genlab seq train --minutes 10 --out runs/lm
    """
    from genlab.seq.train import LMTrainConfig, TrainingDiverged
    from genlab.seq.train import train as run_training

    if minutes is None and steps is None:
        minutes = 10.0
    try:
        config = LMTrainConfig(
            out=str(out), cell=cell, embed_dim=embed_dim, hidden_size=hidden_size,
            num_layers=num_layers, dropout=dropout, max_chars=max_chars, seq_len=seq_len,
            batch_size=batch_size, lr=lr, lr_decay=lr_decay, clip=clip, minutes=minutes,
            steps=steps, seed=seed, threads=threads, resume=resume,
            checkpoint_minutes=checkpoint_minutes, progress=progress)
        run_dir = run_training(config)
    except TrainingDiverged as err:
        raise _fail(str(err), code=1) from err
    except ValueError as err:
        raise _fail(str(err)) from err
    summary = json.loads((run_dir / "summary.json").read_text())
    console.print(f"Run folder: [bold]{run_dir}[/]; validation "
                  f"{summary['validation_bits_per_char']:.3f} bits/char after "
                  f"{summary['steps']} steps ({summary['epochs']:.2f} epochs)")


@app.command()
def sample(
    run: Path = typer.Argument(..., help=RUN_HELP),
    n: int = typer.Option(5, "--n", help="Number of lines."),
    temperature: float = typer.Option(
        0.8, "--temperature", "-t", help="Softmax temperature; 0 = always the most likely."),
    prompt: str = typer.Option("", "--prompt", "-p", help="Text the samples continue."),
    length: int = typer.Option(
        240, help="Characters drawn per sample; the longest line is kept (with --prompt, the "
                   "prompt's line)."),
    seed: int = typer.Option(0, help="Sampling seed."),
) -> None:
    """Print n lines sampled ancestrally from the LM (each its own sample).

    Example: genlab seq sample runs/lm --n 5 --temperature 0.8
    """
    from genlab.gan.checkpoint import CheckpointError
    from genlab.seq.compare import text_lines
    from genlab.seq.model import sample as draw
    from genlab.seq.train import load_lm

    try:
        model, alphabet, _ = load_lm(run)
        codes = draw(model, length, n=n, temperature=temperature, seed=seed,
                     prompt=alphabet.encode(prompt))
    except (CheckpointError, ValueError) as err:
        raise _fail(str(err)) from err
    texts = [prompt + alphabet.decode(row) for row in codes]
    for line in text_lines(texts, width=length + len(prompt), first=bool(prompt)):
        typer.echo(line)


@app.command("eval")
def evaluate(
    run: Path = typer.Argument(..., help=RUN_HELP),
    split: str = typer.Option("test", help="test or validation."),
    max_order: int = typer.Option(5, help="Markov chains of order 1..max_order."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object, not a table."),
) -> None:
    """Held-out bits per character of the LM beside Markov chains of order 1–5.

    The chains use interpolated Kneser–Ney, and add-alpha with alpha chosen on the validation
    split; all models score the same text exactly (log p = Σ log conditionals).

    Example: genlab seq eval runs/lm --json
    """
    from genlab.gan.checkpoint import CheckpointError
    from genlab.seq.compare import markov_bits_per_char
    from genlab.seq.corpus import corpus_split
    from genlab.seq.train import bits_per_char, load_lm

    if split not in ("test", "validation"):
        raise _fail(f"--split must be test or validation, got {split!r}")
    if max_order < 1:
        raise _fail(f"--max-order must be ≥ 1, got {max_order}")
    try:
        model, alphabet, meta = load_lm(run)
    except CheckpointError as err:
        raise _fail(str(err)) from err
    key = f"{split}_bits_per_char"
    lm = bits_per_char(model, alphabet.encode(corpus_split(split)))
    rows = [{"model": f"RNN ({meta['architecture']['cell']}-"
                      f"{meta['architecture']['hidden_size']}, step {meta['step']})",
             "smoothing": None, key: lm}]
    rows += markov_bits_per_char(tuple(range(1, max_order + 1)), split=split, alphabet=alphabet)
    if as_json:
        typer.echo(json.dumps({"run": str(run), "split": split, "rows": rows}))
        return
    typer.echo(f"| model | smoothing | {split} bits/char |\n|---|---|---|")
    for row in rows:
        typer.echo(f"| {row['model']} | {row['smoothing'] or '—'} | {row[key]:.3f} |")


@app.command()
def plot(
    out: Path = typer.Option(..., "--out", "-o", help="PNG file."),
    n: int = typer.Option(5, "--n", help="Sequence length (tokens)."),
) -> None:
    """Draw the directed model of an n-token sequence: RNN (full history) vs Markov chain."""
    from genlab.seq.plot import plot_directed_models

    console.print(f"Wrote [bold]{plot_directed_models(out, n)}[/]")
