#!/usr/bin/env python3
"""Optuna on the functions of scripts/benchsearch, for docs/search.md.

Runs sequential studies of --trials trials from --seeds seeds per function
and sampler, and prints the same table as `go run ./scripts/benchsearch`:
mean and median regret of the best trial (its true value minus the minimum;
for the noisy function the noise-free value of the trial with the best noisy
value), the seeds on which the sampler beat Optuna's RandomSampler from the
same seed, and the time per trial.

Needs Optuna (Debian: apt-get install python3-optuna; CmaEsSampler also
needs the cmaes module, QMCSampler scipy).
"""
import argparse
import math
import statistics
import time
import warnings

import optuna

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

MASK = (1 << 64) - 1


def mix(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def normal(seed, n):
    """The same noise as benchsearch's normal(seed, n)."""
    u1 = ((mix((seed * 1_000_003 + n) & MASK) >> 11) + 0.5) / (1 << 53)
    u2 = ((mix((seed * 1_000_033 + n + 7) & MASK) >> 11) + 0.5) / (1 << 53)
    return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)


def branin(trial):
    x1 = trial.suggest_float("x1", -5, 10)
    x2 = trial.suggest_float("x2", 0, 15)
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


ALPHA = [1.0, 1.2, 3.0, 3.2]
A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
     [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
     [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]


def hartmann6(trial):
    x = [trial.suggest_float(chr(ord("a") + j), 0, 1) for j in range(6)]
    s = 0.0
    for i in range(4):
        inner = sum(A[i][j] * (x[j] - P[i][j] * 1e-4) ** 2 for j in range(6))
        s += ALPHA[i] * math.exp(-inner)
    return -s


def conditional(trial):
    family = trial.suggest_categorical("family", ["quad", "log", "int"])
    if family == "quad":
        u = trial.suggest_float("u", 0, 1)
        base = 1 + 4 * (u - 0.3) ** 2
    elif family == "log":
        lr = trial.suggest_float("lr", 1e-5, 1, log=True)
        base = (math.log10(lr) + 2.5) ** 2 / 4
    else:
        k = trial.suggest_int("k", 1, 20)
        base = 0.5 + abs(k - 7) / 10
    w = trial.suggest_float("w", -2, 2)
    return base + w * w / 4


def noisy_mixed(trial):
    opt = trial.suggest_categorical("optimizer", ["sgd", "momentum", "adam"])
    lr = trial.suggest_float("lr", 1e-5, 1, log=True)
    batch = trial.suggest_int("batch", 16, 512)
    slope = trial.suggest_float("slope", 0, 0.5)
    init = trial.suggest_categorical("init", ["he", "xavier", "lecun"])
    base = {"sgd": 0.3, "momentum": 0.15, "adam": 0}[opt]
    target = {"sgd": -1, "momentum": -1.5, "adam": -3}[opt]
    pen = {"he": 0, "xavier": 0.1, "lecun": 0.05}[init]
    return base + (math.log10(lr) - target) ** 2 / 4 + (math.log2(batch) - 6) ** 2 / 16 + 2 * (slope - 0.1) ** 2 + pen


FUNCTIONS = {
    "branin": (branin, 0.397887, 0.0),
    "hartmann6": (hartmann6, -3.32237, 0.0),
    "conditional": (conditional, 0.0, 0.0),
    "noisy-mixed": (noisy_mixed, 0.0, 0.1),
}


def sampler(name, seed):
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "tpe-mv":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, warn_independent_sampling=False)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    raise SystemExit(f"unknown sampler {name}")


def run(fn, noise, name, seed, trials):
    study = optuna.create_study(sampler=sampler(name, seed))
    truth = {}

    def objective(trial):
        v = fn(trial)
        truth[trial.number] = v
        return v + noise * normal(seed, trial.number) if noise else v

    start = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    elapsed = time.perf_counter() - start
    best_seen, best_true, after = math.inf, math.inf, []
    for t in study.trials:
        if t.value < best_seen:
            best_seen, best_true = t.value, truth[t.number]
        after.append(best_true)
    return after, elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--at", default="50,100")
    ap.add_argument("--samplers", default="random,qmc,tpe,tpe-mv,cmaes")
    ap.add_argument("--functions", default="branin,hartmann6,conditional,noisy-mixed")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    budgets = [int(b) for b in args.at.split(",")]
    names = args.samplers.split(",")
    if "random" not in names:
        names.insert(0, "random")
    print(f"Optuna {optuna.__version__}")
    print("| function | trials | sampler | mean regret | median regret | beats random | ms/trial |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for fname in args.functions.split(","):
        fn, fmin, noise = FUNCTIONS[fname]
        res = {}
        for name in names:
            res[name] = [run(fn, noise, name, seed, args.trials) for seed in range(1, args.seeds + 1)]
        for b in budgets:
            for name in names:
                regrets = [after[b - 1] - fmin for after, _ in res[name]]
                wins = sum(1 for (a, _), (r, _) in zip(res[name], res["random"]) if a[b - 1] < r[b - 1])
                ms = 1e3 * sum(e for _, e in res[name]) / (args.seeds * args.trials)
                win = "-" if name == "random" else f"{wins}/{args.seeds}"
                print(f"| {fname} | {b} | optuna {name} | {statistics.mean(regrets):.4g} | "
                      f"{statistics.median(regrets):.4g} | {win} | {ms:.2f} |", flush=True)


if __name__ == "__main__":
    main()
