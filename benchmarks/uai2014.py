"""UAI 2014 problems solved exactly by genlab, against a plain greedy opt_einsum baseline.

For every problem of a task folder in ../shared/data/uai2014 (PR, MAR, MAP) that has a
reference solution, run genlab in a child process with a time limit (default 60 s) and a
memory cap, and check the answer with genlab.pgm.uai_tasks.check_uai_result. For PR, the
baseline is opt_einsum.contract(..., optimize="greedy") on the evidence-reduced float64
tables with no rescaling. Prints a table and the solved counts; --json writes every row.

    python benchmarks/uai2014.py --task PR --limit 60
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "uai2014"
MAX_ENTRIES = 1 << 27  # plans with a larger intermediate are "too wide" (1 GiB float64)
MAX_LOG2_FLOPS = 38.0


def _limit_memory(gib: float) -> None:
    cap = int(gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _genlab_child(path: str, task: str, queue: mp.Queue, gib: float) -> None:
    _limit_memory(gib)
    from genlab.pgm.inference import ExactInference
    from genlab.pgm.io import read_uai_result
    from genlab.pgm.uai_tasks import check_uai_result, load_uai_problem, solve_uai

    t0 = time.perf_counter()
    model, evidence = load_uai_problem(path)
    engine = ExactInference(model)
    plan = engine.plan(list(evidence))
    row = {
        "plan": plan.describe(),
        "log2_flops": plan.log2_flops,
        "largest": plan.largest_intermediate,
        "load_plan_s": time.perf_counter() - t0,
    }
    if plan.largest_intermediate > MAX_ENTRIES or plan.log2_flops > MAX_LOG2_FLOPS:
        queue.put({**row, "status": "too wide"})
        return
    got = solve_uai(engine, task, evidence, method="exact").value
    seconds = time.perf_counter() - t0
    _, reference = read_uai_result(f"{path}.{task}")
    check = check_uai_result(task, got, reference, model, evidence)
    queue.put(
        {
            **row,
            "status": "solved" if check.ok else "mismatch",
            "seconds": seconds,
            "detail": check.detail,
        }
    )


def _baseline_child(path: str, task: str, queue: mp.Queue, gib: float) -> None:
    _limit_memory(gib)
    import numpy as np
    import opt_einsum

    from genlab.pgm.io import read_uai_result
    from genlab.pgm.uai_tasks import check_uai_result, load_uai_problem

    t0 = time.perf_counter()
    model, evidence = load_uai_problem(path)
    ids = {v: opt_einsum.get_symbol(i) for i, v in enumerate(model.variables)}
    operands, subscripts = [], []
    for f in model.factors:
        reduced = f.reduce(evidence)
        operands.append(np.asarray(reduced.table))
        subscripts.append("".join(ids[v] for v in reduced.variables))
    with np.errstate(all="ignore"):
        z = float(opt_einsum.contract(",".join(subscripts) + "->", *operands, optimize="greedy"))
        isolated = sum(
            math.log10(model.cards[v])
            for v in model.variables
            if v not in evidence and not any(v in f.variables for f in model.factors)
        )
        log10_z = math.log10(z) + isolated if z > 0 else -math.inf
    _, reference = read_uai_result(f"{path}.{task}")
    check = check_uai_result(task, log10_z, reference, model, evidence)
    queue.put(
        {
            "status": "solved" if check.ok else "mismatch",
            "seconds": time.perf_counter() - t0,
            "detail": check.detail,
        }
    )


def run_child(target, path: str, task: str, limit: float, gib: float) -> dict:
    queue: mp.Queue = mp.get_context("fork").Queue()
    proc = mp.get_context("fork").Process(target=target, args=(path, task, queue, gib))
    start = time.perf_counter()
    proc.start()
    proc.join(limit)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return {"status": "timeout", "seconds": limit}
    if not queue.empty():
        return queue.get()
    return {"status": f"crashed (exit {proc.exitcode})", "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=["PR", "MAR", "MAP"], default="PR")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per problem")
    parser.add_argument("--memory", type=float, default=12.0, help="GiB per child process")
    parser.add_argument("--only", nargs="*", help="problem file names to run")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--json", type=Path, help="write all rows to this file")
    args = parser.parse_args()
    folder = DATA / args.task
    if not folder.exists():
        sys.exit(f"reference data not found at {folder}")
    problems = sorted(p for p in folder.glob("*.uai") if Path(f"{p}.{args.task}").exists())
    if args.only:
        problems = [p for p in problems if p.name in args.only]
    rows = []
    print("| problem | genlab | s | plan | baseline | s |\n|---|---|---|---|---|---|")
    for p in problems:
        row = {
            "problem": p.name,
            "genlab": run_child(_genlab_child, str(p), args.task, args.limit, args.memory),
        }
        if args.task == "PR" and not args.no_baseline:
            row["baseline"] = run_child(_baseline_child, str(p), args.task, args.limit, args.memory)
        rows.append(row)
        g, b = row["genlab"], row.get("baseline", {})
        print(
            f"| {p.name} | {g['status']} | {g.get('seconds', float('nan')):.2f} | "
            f"{g.get('plan', '')} | {b.get('status', '-')} | "
            f"{b.get('seconds', float('nan')):.2f} |",
            flush=True,
        )
    solved = sum(r["genlab"]["status"] == "solved" for r in rows)
    print(f"\n{args.task}: genlab solved {solved} of {len(rows)} within {args.limit:.0f} s each")
    if args.task == "PR" and not args.no_baseline:
        base = sum(r["baseline"]["status"] == "solved" for r in rows)
        print(f"{args.task}: greedy opt_einsum baseline solved {base} of {len(rows)}")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} (1 min)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
