"""Parse times of genlab.pgm.io against pyAgrum (and optionally pgmpy), side by side.

BIF: the 24 bnlearn networks (decompressed to plain files first, so every reader reads the same
bytes). UAI: the UAI 2014 models; pyAgrum's `loadMRF` runs in a child process with a time limit
because it can hang on large files. Times are CPU seconds of the reading process
(`time.process_time`, best of `--repeat` runs), which other jobs sharing the cores disturb far
less than wall time; `--clock wall` gives wall seconds instead.

    .venv/bin/python benchmarks/pgm_io_vs_peers.py [--repeat 5] [--only bif|uai]
        [--pgmpy MAX_VARS] [--uai-limit 30] [--clock cpu|wall]
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from genlab.pgm.io import read_bif, read_uai
from genlab.pgm.models import BayesianNetwork

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CLOCKS = {"cpu": "process_time", "wall": "perf_counter"}  # names in the time module


def best_of(repeat: int, load: Callable[[], object], clock: str) -> float:
    """Best time of `repeat` calls of `load` on `clock` (a time-module function name)."""
    now = getattr(time, clock)
    times = []
    for _ in range(repeat):
        start = now()
        load()
        times.append(now() - start)
    return min(times)


def peer_time(repeat: int, load: Callable[[], object], clock: str) -> str:
    """Seconds as text, or why the peer failed."""
    try:
        return f"{best_of(repeat, load, clock):.4f}"
    except Exception as exc:  # a peer rejecting a file is a result, not a crash
        print(f"  ({str(exc).splitlines()[0][:100]})")
        return f"fails ({type(exc).__name__})"


def ratio(peer: str, ours: float) -> str:
    return f"{float(peer) / ours:.2f}x" if peer[:1].isdigit() else "-"


def pgmpy_check(path: Path, ours: BayesianNetwork, clock: str) -> str:
    """pgmpy's read time and the largest CPT difference from ours (states matched by name)."""
    from pgmpy.readwrite import BIFReader

    start = getattr(time, clock)()
    model = BIFReader(str(path)).get_model()
    seconds = getattr(time, clock)() - start
    worst = 0.0
    for cpd in model.get_cpds():  # pgmpy values: (card, *parent_cards), parents in CPT order
        assert tuple(cpd.variables[1:]) == ours.parents(cpd.variable), cpd.variable
        order = [[cpd.state_names[x].index(s) for s in ours.states[x]] for x in cpd.variables]
        theirs = cpd.values[np.ix_(*order)]
        mine = np.moveaxis(ours.cpt(cpd.variable).table, -1, 0)
        worst = max(worst, float(np.abs(theirs - mine).max()))
    return f"{seconds:8.3f}  {worst:.1e}"


def bench_bif(repeat: int, clock: str, pgmpy_vars: int, tmp: Path) -> None:
    import pyagrum as gum

    extra = "  pgmpy s  max|diff|" if pgmpy_vars else ""
    print("\nBIF (bnlearn)            genlab s   pyAgrum s  peer/genlab" + extra)
    total = 0.0
    for gz in sorted((DATA / "bnlearn").glob("*.bif.gz"), key=lambda p: p.stat().st_size):
        plain = tmp / gz.name.removesuffix(".gz")
        plain.write_bytes(gzip.decompress(gz.read_bytes()))
        ours = best_of(repeat, lambda p=plain: read_bif(p), clock)
        total += ours
        agrum = peer_time(repeat, lambda p=plain: gum.loadBN(str(p)), clock)
        line = f"{plain.stem:20s} {ours:10.4f}  {agrum:>10s}  {ratio(agrum, ours):>10s}"
        bn = read_bif(plain)
        if len(bn.variables) <= pgmpy_vars:
            line += f"  {pgmpy_check(plain, bn, clock)}"
        print(line, flush=True)
    print(f"{'all 24 (genlab)':20s} {total:10.4f}")


AGRUM_UAI = (
    "import sys,time,pyagrum as g;c=getattr(time,sys.argv[2]);t=c();g.loadMRF(sys.argv[1]);"
    "print(c()-t)"
)


def bench_uai(repeat: int, clock: str, limit: float) -> None:
    print("\nUAI 2014 models          genlab s   pyAgrum s  peer/genlab   (slowest 12 for genlab)")
    seen: dict[str, Path] = {}
    for path in sorted((DATA / "uai2014").glob("*/*.uai")):
        seen.setdefault(path.name, path)
    timed = [(best_of(repeat, lambda p=p: read_uai(p), clock), p) for p in seen.values()]
    timed.sort(reverse=True)
    for ours, path in timed[:12]:
        try:
            run = subprocess.run(
                [sys.executable, "-c", AGRUM_UAI, str(path), clock],
                capture_output=True,
                text=True,
                timeout=limit,
                check=True,
            )
            agrum = f"{float(run.stdout.split()[-1]):.4f}"
        except subprocess.TimeoutExpired:
            agrum = f"> {limit:g} s"
        except (subprocess.CalledProcessError, ValueError, IndexError):
            agrum = "fails"
        print(f"{path.name:24s} {ours:8.4f}  {agrum:>10s}  {ratio(agrum, ours):>10s}", flush=True)
    print(f"{len(timed)} distinct files, genlab total {sum(t for t, _ in timed):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per file; the best counts")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu", help="what to time")
    parser.add_argument(
        "--pgmpy",
        type=int,
        default=0,
        metavar="MAX_VARS",
        help="also read networks up to MAX_VARS variables with pgmpy (slow): time + CPT diff",
    )
    parser.add_argument("--uai-limit", type=float, default=30, help="seconds per pyAgrum UAI load")
    parser.add_argument("--only", choices=["bif", "uai"], help="run one of the two parts")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"reference data not found at {DATA}")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{args.clock} seconds, best of {args.repeat}")
        if args.only != "uai":
            bench_bif(args.repeat, CLOCKS[args.clock], args.pgmpy, Path(tmp))
    if args.only != "bif":
        bench_uai(args.repeat, CLOCKS[args.clock], args.uai_limit)


if __name__ == "__main__":
    main()
