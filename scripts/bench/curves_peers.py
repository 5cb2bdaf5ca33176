"""The curve benchmark's peers: cvxpy + OSQP and cvxpy + Clarabel on the
problems the Rust bench wrote (scripts/bench.sh curves).

For each problem: minimise x'Qx subject to A x = b with the same Q (second
differences) and the same normalised contract rows. Times are the median of
several `problem.solve()` calls on a fresh problem each (cvxpy's
canonicalisation included, as a user of cvxpy pays it; no warm start) and, separately, the solver's own reported solve time.
The objective gap of each answer to our KKT optimum is relative:
(x'Qx - optimum) / optimum, with the worst repricing error |A x - b| and the
largest distance of the curve from ours (the optimum) in $/MWh: on this
objective a tiny objective gap can hide a curve tens of $/MWh off at the ends.
"""

import json
import statistics
import sys
import time

import cvxpy as cp
import numpy as np
import scipy.sparse as sp


def load(path):
    with open(path) as f:
        doc = json.load(f)
    n = doc["n"]
    q = sp.diags(
        [doc["q_off2"], doc["q_off1"], doc["q_diag"], doc["q_off1"], doc["q_off2"]],
        [-2, -1, 0, 1, 2],
        shape=(n, n),
        format="csc",
    )
    rows, cols, vals, b = [], [], [], []
    for j, r in enumerate(doc["rows"]):
        rows += [j] * len(r["idx"])
        cols += r["idx"]
        vals += r["val"]
        b.append(r["price"])
    a = sp.csc_matrix((vals, (rows, cols)), shape=(len(doc["rows"]), n))
    return doc, q, a, np.array(b)


def second_differences(n):
    return sp.diags([np.ones(n - 2), -2 * np.ones(n - 2), np.ones(n - 2)], [0, 1, 2], shape=(n - 2, n), format="csc")


def main(paths):
    for path in paths:
        doc, q, a, b = load(path)
        n = doc["n"]
        ours = doc["ours"]
        optimum = ours["objective"]
        d2 = second_differences(n)
        print(f"{doc['name']}: n={n} contracts={a.shape[0]}")
        print(f"  carbon KKT (banded)        {ours['kkt_seconds'] * 1e3:10.2f} ms   objective gap {0.0:+.2e}")
        print(f"  carbon clarabel (raw)      {ours['clarabel_seconds'] * 1e3:10.2f} ms   objective gap {(ours['clarabel_objective'] - optimum) / optimum:+.2e}")
        print(f"  carbon clarabel + polish   {ours['polish_seconds'] * 1e3:10.2f} ms   objective gap {(ours['polish_objective'] - optimum) / optimum:+.2e}")
        runs = 5 if n < 5000 else 3
        peers = [
            ("OSQP", cp.OSQP, {}),
            ("OSQP tight", cp.OSQP, {"max_iter": 200_000, "eps_abs": 1e-7, "eps_rel": 1e-7}),
            ("Clarabel", cp.CLARABEL, {}),
        ]
        for label, solver, opts in peers:
            walls, own = [], []
            failed = None
            for _ in range(runs if label != "OSQP tight" else 1):
                # A fresh problem each run: no cached canonicalisation, no warm start.
                x = cp.Variable(n)
                problem = cp.Problem(cp.Minimize(cp.sum_squares(d2 @ x)), [a @ x == b])
                t = time.perf_counter()
                try:
                    problem.solve(solver=solver, **opts)
                except cp.error.SolverError as e:
                    failed = str(e).split(".")[0]
                if not failed and x.value is None:
                    failed = f"no solution"
                walls.append(time.perf_counter() - t)
                if failed:
                    break
                own.append(problem.solver_stats.solve_time or float("nan"))
            wall = statistics.median(walls)
            name = f"cvxpy+{label}"
            if failed:
                print(f"  {name:<25}{wall * 1e3:10.2f} ms   FAILED: {failed} (status {problem.status})")
            else:
                xs = x.value
                obj = float(xs @ (q @ xs))
                worst = float(np.max(np.abs(a @ xs - b)))
                off = float(np.max(np.abs(xs - np.array(ours["x"]))))
                print(
                    f"  {name:<25}{wall * 1e3:10.2f} ms   objective gap {(obj - optimum) / optimum:+.2e}"
                    f"   worst repricing {worst:.1e}   max |curve - optimum| {off:.3f} $/MWh"
                    f"   (solver alone {statistics.median(own) * 1e3:.2f} ms, status {problem.status})"
                )
            print(f"  RATIO {doc['name']} {name} / carbon KKT = {wall / ours['kkt_seconds']:.1f}x{' (to failure)' if failed else ''}")


if __name__ == "__main__":
    main(sys.argv[1:])
