"""The Monte Carlo peer: the same process as carbon_scenario::montecarlo,
vectorised over paths with numpy (one array operation per day and block),
on the parameters and scenario targets the Rust benchmark wrote. Prints the
time, the ratio and whether the statistics agree within Monte Carlo error."""

import json
import sys
import time

import numpy as np


def season(month):
    return (month % 12) // 3


def log_means(p, seasons):
    """ln E[exp(y_t)] from y = 0 the day before day 0 (as in the Rust code)."""
    out = np.empty(len(seasons))
    phi = p["phi"]
    for t in range(len(seasons)):
        c, a = 0.0, 1.0
        for j in range(t, -1, -1):
            s = p["seasons"][seasons[j]]
            jump = np.log(1 - s["jump_rate"] + s["jump_rate"] * np.exp(a * s["jump_mean"] + 0.5 * a * a * s["jump_sd"] ** 2))
            c += 0.5 * a * a * s["sigma"] ** 2 + jump
            a *= phi
            if a < 1e-12:
                break
        out[t] = c
    return out


def prepare(doc):
    """Per block: the days, targets, columns and per-day parameters (outside
    the timing: the Rust side's equivalent is a small part of its time)."""
    cols = {}
    for d, b, _, _ in doc["targets"]:
        cols.setdefault((d[:7], b != "onpeak"), None)
    keys = sorted(cols)
    index = {k: i for i, k in enumerate(keys)}
    lanes = []
    for p in doc["processes"]:
        days = sorted((d, v, h) for d, b, v, h in doc["targets"] if b == p["block"])
        seasons = [season(int(d[5:7])) for d, _, _ in days]
        lanes.append({
            "phi": p["phi"],
            "c": log_means(p, seasons),
            "sig": np.array([p["seasons"][s]["sigma"] for s in seasons]),
            "lam": np.array([p["seasons"][s]["jump_rate"] for s in seasons]),
            "jm": np.array([p["seasons"][s]["jump_mean"] for s in seasons]),
            "js": np.array([p["seasons"][s]["jump_sd"] for s in seasons]),
            # Each day weighs its hours of the block in the month's average.
            "target": np.array([v for _, v, _ in days]),
            "hours": np.array([h for _, _, h in days]),
            "col": np.array([index[(d[:7], p["block"] != "onpeak")] for d, _, _ in days]),
        })
    return keys, lanes


def run(keys, lanes, paths, rng):
    sums = np.zeros((paths, len(keys)))
    counts = np.zeros(len(keys))
    for ln in lanes:
        y = np.zeros(paths)
        for t in range(len(ln["target"])):
            z = rng.standard_normal(paths)
            u = rng.random(paths)
            zj = rng.standard_normal(paths)
            y = ln["phi"] * y + ln["sig"][t] * z + (u < ln["lam"][t]) * (ln["jm"][t] + ln["js"][t] * zj)
            k = ln["col"][t]
            sums[:, k] += ln["hours"][t] * ln["target"][t] * np.exp(y - ln["c"][t])
            counts[k] += ln["hours"][t]
    return sums / counts


def main():
    doc = json.load(open(sys.argv[1]))
    rng = np.random.default_rng(254)
    times = []
    keys, lanes = prepare(doc)
    for _ in range(3):
        t = time.perf_counter()
        avg = run(keys, lanes, doc["paths"], rng)
        times.append(time.perf_counter() - t)
    peer = sorted(times)[1]
    ours = doc["ours_secs"]
    bands = {(b["month"], b["block"] != "onpeak"): b for b in doc["bands"]}
    worst_mean, worst_q = 0.0, 0.0
    for i, k in enumerate(keys):
        b = bands[k]
        col = avg[:, i]
        se = np.hypot(b["std_error"], col.std(ddof=1) / np.sqrt(len(col)))
        worst_mean = max(worst_mean, abs(col.mean() - b["mean"]) / se)
        # A quantile is compared on the probability scale: where our value
        # falls in numpy's sample, against the binomial error of two samples.
        for q, name in [(0.05, "p5"), (0.25, "p25"), (0.5, "p50"), (0.75, "p75"), (0.95, "p95")]:
            f = np.mean(col <= b[name])
            worst_q = max(worst_q, abs(f - q) / np.sqrt(2 * q * (1 - q) / len(col)))
    print(f"numpy peer: {peer:.3f} s; carbon: {ours:.3f} s on {doc['threads']} thread(s)")
    print(f"ratio, Monte Carlo vs numpy: {peer / ours:.1f}x (goal >= 3x)")
    print(f"means differ by at most {worst_mean:.2f} combined standard errors (agree if < 4)")
    print(f"quantiles differ by at most {worst_q:.2f} binomial standard errors (agree if < 4)")
    print(f"calibration: {1e3 * doc['calibration_secs']:.1f} ms (goal < 50 ms)")
    ok = worst_mean < 4 and worst_q < 4
    print("statistics agree" if ok else "STATISTICS DISAGREE")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
