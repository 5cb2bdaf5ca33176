"""The research benchmark's peer: statsmodels on the inputs the Rust bench
wrote (scripts/bench.sh research). For each workload: the median time of
several fits (statsmodels' own defaults where the issue names none), the
largest difference from our answer, and the speed ratio.

STL: statsmodels.tsa.seasonal.STL (netlib parameters on CO2; defaults on the
240-month series). MSTL: statsmodels MSTL with R's parameters. Regimes:
MarkovRegression(k_regimes=2).fit() (EM then BFGS, one start) against ours
with one start and with our default five. OLS: sm.OLS(y, X).fit() plus the
standard errors, t and p values we also compute.
"""

import json
import statistics
import sys
import time

import numpy as np
import statsmodels.api as sm
from statsmodels.tsa.seasonal import MSTL, STL
from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression


def median_secs(reps, f):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def diff(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def main(path):
    with open(path) as f:
        d = json.load(f)
    ours = d["ours"]
    rows = []

    co2 = np.array(d["co2"])
    stl_kw = dict(period=12, seasonal=35, trend=19, low_pass=13, seasonal_deg=1, trend_deg=1, low_pass_deg=1,
                  robust=True, seasonal_jump=4, trend_jump=2, low_pass_jump=2)
    r = STL(co2, **stl_kw).fit(outer_iter=2, inner_iter=1)
    t = median_secs(50, lambda: STL(co2, **stl_kw).fit(outer_iter=2, inner_iter=1))
    rows.append(("STL CO2 348 (netlib, robust)", ours["stl_co2"]["secs"], t,
                 max(diff(r.seasonal, ours["stl_co2"]["seasonal"]), diff(r.trend, ours["stl_co2"]["trend"])), 3))

    short = np.array(d["short"])
    r = STL(short, period=12).fit()
    t = median_secs(50, lambda: STL(short, period=12).fit())
    rows.append(("STL 240 months (defaults)", ours["stl_240"]["secs"], t,
                 max(diff(r.seasonal, ours["stl_240"]["seasonal"]), diff(r.trend, ours["stl_240"]["trend"])), 3))

    vic = np.array(d["vic"])
    mkw = dict(periods=(24, 168), stl_kwargs=dict(seasonal_deg=0, seasonal_jump=1, trend_jump=1, trend_deg=1,
                                                   low_pass_jump=1, low_pass_deg=1, inner_iter=2, outer_iter=0))
    r = MSTL(vic, **mkw).fit()
    t = median_secs(5, lambda: MSTL(vic, **mkw).fit())
    rows.append(("MSTL 3,600 h (24, 168)", ours["mstl"]["secs"], t,
                 max(diff(r.trend, ours["mstl"]["trend"]), diff(r.seasonal[:, 0], ours["mstl"]["s24"]),
                     diff(r.seasonal[:, 1], ours["mstl"]["s168"])), 3))

    ff = np.array(d["fedfunds"])
    r = MarkovRegression(ff, k_regimes=2).fit()
    t = median_secs(5, lambda: MarkovRegression(ff, k_regimes=2).fit())
    m = ours["markov"]
    rows.append(("Markov fedfunds, 1 start each", m["secs_one_start"], t, abs(r.llf - m["llf"]), 10))
    rows.append(("Markov fedfunds, ours 5 starts", m["secs_default"], t, abs(r.llf - m["llf"]), 10))

    x = np.array(d["ols_x"]).reshape(-1, d["ols_cols"])
    y = np.array(d["ols_y"])

    def ols():
        res = sm.OLS(y, x).fit()
        return res.params, res.bse, res.tvalues, res.pvalues, res.rsquared

    p, bse, _, _, r2 = ols()
    t = median_secs(10, ols)
    rows.append(("OLS 26,280 x 12 (+ inference)", ours["ols"]["secs"], t,
                 max(diff(p, ours["ols"]["params"]), diff(bse, ours["ols"]["bse"]), abs(r2 - ours["ols"]["r2"])), 5))

    print(f"{'workload':<34} {'ours ms':>9} {'statsmodels ms':>15} {'ratio':>7} {'goal':>5} {'max |diff|':>11}")
    for name, ours_s, peer_s, d_, goal in rows:
        print(f"{name:<34} {ours_s * 1e3:>9.3f} {peer_s * 1e3:>15.3f} {peer_s / ours_s:>6.1f}x {goal:>4}x {d_:>11.2e}")


if __name__ == "__main__":
    main(sys.argv[1])
