"""UAI 2014 problems: genlab's exact path against a greedy opt_einsum baseline, and (with
--answer) genlab's answer on every problem — exact where the contraction fits, else search /
loopy BP — against toulbar2 (MAP) and pyAgrum's loopy BP and Gibbs sampling (MAR, PR).

Exact mode: for every problem of a task folder in ../shared/data/uai2014 (PR, MAR, MAP) that
has a reference solution, run genlab's contraction in a child process with a time limit
(default 60 s) and a memory cap, and check the answer with check_uai_result. For PR, the
baseline is opt_einsum.contract(..., optimize="greedy") on the evidence-reduced float64
tables with no rescaling.

Answer mode (--answer): `solve_uai(method="auto")` with the time limit, one core, in a child
process, beside the peer in another child (the machine's two cores): MAP on every problem,
scored by log Π ψ against the reference assignment's and toulbar2's; MAR and PR on the
problems the contraction cannot do, scored by the mean Hellinger distance over unobserved
variables and by |log10 Ẑ − log10 Z|. Peers come from benchmarks/uai_peers.py (bench extra).

    python benchmarks/uai2014.py --task PR --limit 60
    python benchmarks/uai2014.py --task MAP --answer --limit 60
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
    return finish_child(start_child(target, (path, task), gib), limit)


def start_child(target, args: tuple, gib: float) -> tuple:
    queue: mp.Queue = mp.get_context("fork").Queue()
    proc = mp.get_context("fork").Process(target=target, args=(*args, queue, gib))
    proc.start()
    return proc, queue, time.perf_counter()


def finish_child(child: tuple, limit: float) -> dict:
    proc, queue, start = child
    proc.join(max(0.0, limit - (time.perf_counter() - start)))
    if proc.is_alive():
        proc.kill()
        proc.join()
        return {"status": "timeout", "seconds": limit}
    if not queue.empty():
        return queue.get()
    return {"status": f"crashed (exit {proc.exitcode})", "seconds": time.perf_counter() - start}


# ---------------------------------------------------------------------------- answer mode
GRACE = 15.0  # seconds past the limit before a child is killed (loading, writing the answer)


def hellinger(got: list, reference: list, observed: set[int]) -> float:
    """The UAI competition's MAR error: mean Hellinger distance over unobserved variables."""
    import numpy as np

    dists = [math.sqrt(max(0.0, 1.0 - float(np.sum(np.sqrt(np.asarray(p) * np.asarray(q))))))
             for i, (p, q) in enumerate(zip(got, reference, strict=True)) if i not in observed]
    return float(np.mean(dists)) if dists else 0.0


def _answer_child(path: str, task: str, limit: float, queue: mp.Queue, gib: float) -> None:
    _limit_memory(gib)
    from genlab.pgm.inference import ExactInference
    from genlab.pgm.uai_tasks import load_uai_problem, solve_uai

    t0 = time.perf_counter()
    model, evidence = load_uai_problem(path)
    answer = solve_uai(ExactInference(model), task, evidence, "auto",
                       time_limit=max(1.0, 0.9 * limit - (time.perf_counter() - t0)))
    value = answer.value if task != "MAP" else [int(s) for s in answer.value]
    if task == "MAR":
        value = [list(map(float, p)) for p in value]
    queue.put({"status": "answered", "seconds": time.perf_counter() - t0, "value": value,
               "exact": answer.exact, "label": answer.label, "bound": answer.bound})


def _peer_child(path: str, task: str, peer: str, limit: float, queue: mp.Queue,
                gib: float) -> None:
    _limit_memory(gib)
    sys.path.insert(0, str(Path(__file__).parent))
    import uai_peers

    if peer == "toulbar2":
        out = uai_peers.toulbar2_map(path, limit)
        out["value"] = out.pop("assignment", None)
    elif peer in ("lbp", "gibbs"):
        out = uai_peers.pyagrum_marginals(path, limit, peer)
        got = out.pop("marginals", None)
        out["value"] = None if got is None else [list(map(float, p)) for p in got]
    else:
        out = uai_peers.pyagrum_log10_z(path, limit)
        out["value"] = out.pop("log10_Z", None)
    queue.put(out)


def _score_map(model, evidence: dict, states: list | None) -> float:
    if states is None:
        return -math.inf
    assignment = {v: int(s) for v, s in zip(model.variables, states, strict=True)}
    assignment.update(evidence)
    return model.log_score(assignment)


def answer_mode(task: str, problems: list[Path], limit: float, gib: float, peers: bool
                ) -> list[dict]:
    """genlab's answer on every problem (MAR / PR: only those the contraction cannot do)
    beside the task's peers, each pair run at once on the two cores."""
    from genlab.pgm.approximate import too_wide
    from genlab.pgm.inference import ExactInference
    from genlab.pgm.io import read_uai_result
    from genlab.pgm.uai_tasks import load_uai_problem

    peer_names = {"MAP": ["toulbar2"], "MAR": ["lbp", "gibbs"], "PR": ["lbp-pr"]}[task]
    shown = peer_names if peers else []
    if task == "MAP":
        head = ["problem", "genlab log score", "reference", "genlab answer", "s"]
        head += [c for name in shown for c in (f"{name} log score", name, "s")]
    else:
        what = "Hellinger" if task == "MAR" else "|Δ log10 Z|"
        head = ["problem", f"genlab {what}", "genlab answer", "s"]
        head += [c for name in shown for c in (f"{name} {what}", "s")]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head), flush=True)
    rows = []
    for p in problems:
        model, evidence = load_uai_problem(p)
        if task != "MAP":  # the approximate engines are judged where exact cannot go: where
            query = "marginals" if task == "MAR" else "log_partition"  # auto would not contract
            if too_wide(ExactInference(model), evidence, None, query, 0.9 * limit) is None:
                continue
        _, reference = read_uai_result(f"{p}.{task}")
        mine = start_child(_answer_child, (str(p), task, limit), gib)
        started = [start_child(_peer_child, (str(p), task, shown[0], limit), gib)] \
            if shown else []  # the first peer beside genlab, on the other core
        got = finish_child(mine, limit + GRACE)
        others: dict[str, dict] = {}
        for k, name in enumerate(shown):  # the further peers one at a time
            child = started[0] if k == 0 else \
                start_child(_peer_child, (str(p), task, name, limit), gib)
            others[name] = finish_child(child, limit + GRACE)
        row = {"problem": p.name, "genlab": got, **others}
        observed = {model.variables.index(v) for v in evidence}
        for out in [got, *others.values()]:
            value = out.get("value")
            if task == "MAP":
                out["score"] = _score_map(model, evidence, value)
            elif task == "MAR":
                out["error"] = math.inf if value is None else hellinger(value, reference,
                                                                         observed)
            else:
                out["error"] = math.inf if value is None else abs(float(value) -
                                                                  float(reference))
            out.pop("value", None)
        if task == "MAP":
            row["reference"] = _score_map(model, evidence, list(reference))
        rows.append(row)
        print_answer_row(task, row, peer_names if peers else [])
    return rows


def print_answer_row(task: str, row: dict, peers: list[str]) -> None:
    g = row["genlab"]
    label = "exact" if g.get("exact") else g.get("label", g.get("status", ""))[:60]
    cells = [row["problem"]]
    if task == "MAP":
        cells += [f"{g['score']:.6g}", f"{row['reference']:.6g}", label,
                  f"{g.get('seconds', float('nan')):.1f}"]
        for name in peers:
            o = row[name]
            cells += [f"{o['score']:.6g}", "proven" if o.get("proven") else
                      o.get("status", "")[:30], f"{o.get('seconds', float('nan')):.1f}"]
    else:
        cells += [f"{g['error']:.3g}", label, f"{g.get('seconds', float('nan')):.1f}"]
        for name in peers:
            o = row[name]
            cells += [f"{o['error']:.3g}", f"{o.get('seconds', float('nan')):.1f}"]
    print("| " + " | ".join(cells) + " |", flush=True)


def answer_summary(task: str, rows: list[dict], peers: bool) -> None:
    import numpy as np

    n = len(rows)
    if task == "MAP":
        tol = 1e-6

        def at_least(a: float, b: float) -> bool:
            return a >= b - tol * max(1.0, abs(b))

        mine_ref = sum(at_least(r["genlab"]["score"], r["reference"]) for r in rows)
        proven = [r["problem"] for r in rows if r["genlab"].get("exact")]
        print(f"\nMAP: genlab reaches the reference score on {mine_ref} of {n}; proven "
              f"optimal on {len(proven)} ({sum(p.startswith('Promedas') for p in proven)} of "
              f"{sum(r['problem'].startswith('Promedas') for r in rows)} Promedas)")
        if peers:
            tb = [r for r in rows if at_least(r["toulbar2"]["score"], r["reference"])]
            print(f"toulbar2 reaches it on {len(tb)}; genlab on "
                  f"{sum(at_least(r['genlab']['score'], r['reference']) for r in tb)} of those;"
                  f" genlab ≥ toulbar2 on "
                  f"{sum(at_least(r['genlab']['score'], r['toulbar2']['score']) for r in rows)}"
                  f" of {n}")
        return
    errors = {"genlab": [r["genlab"]["error"] for r in rows]}
    for name in ({"MAR": ["lbp", "gibbs"], "PR": ["lbp-pr"]}[task] if peers else []):
        errors[name] = [r[name]["error"] for r in rows]
    what = "mean Hellinger error" if task == "MAR" else "|Δ log10 Z|"
    for name, errs in errors.items():
        print(f"{task}: {name} median {what} {float(np.median(errs)):.4g} over {n} problems")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=["PR", "MAR", "MAP"], default="PR")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per problem")
    parser.add_argument("--memory", type=float, default=12.0, help="GiB per child process")
    parser.add_argument("--only", nargs="*", help="problem file names to run")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--json", type=Path, help="write all rows to this file")
    parser.add_argument("--answer", action="store_true",
                        help="genlab's auto answer on every problem beside the peers")
    parser.add_argument("--no-peers", action="store_true", help="answer mode without peers")
    args = parser.parse_args()
    folder = DATA / args.task
    if not folder.exists():
        sys.exit(f"reference data not found at {folder}")
    problems = sorted(p for p in folder.glob("*.uai") if Path(f"{p}.{args.task}").exists())
    if args.only:
        problems = [p for p in problems if p.name in args.only]
    if args.answer:
        answer_rows = answer_mode(args.task, problems, args.limit, args.memory, not args.no_peers)
        answer_summary(args.task, answer_rows, not args.no_peers)
        if args.json:
            args.json.write_text(json.dumps(answer_rows, indent=1, default=str))
        return
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
