#!/usr/bin/env python3
"""Reads trials as JSON on stdin and prints Optuna's fANOVA importances.

Input: {"params": [{"name", "kind": "float"|"log_float"|"choice", "low", "high",
"choices"}], "trials": [{"params": {...}, "value": float}], "seed": int}.
Output: {"param": importance, ...}. Needs Debian's python3-optuna and
python3-sklearn (/usr/bin/python3).
"""
import json
import sys

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.importance import FanovaImportanceEvaluator

optuna.logging.set_verbosity(optuna.logging.WARNING)

doc = json.load(sys.stdin)
dists = {}
for p in doc["params"]:
    if p["kind"] == "choice":
        dists[p["name"]] = CategoricalDistribution(p["choices"])
    else:
        dists[p["name"]] = FloatDistribution(p["low"], p["high"], log=p["kind"] == "log_float")

study = optuna.create_study(direction="maximize")
for t in doc["trials"]:
    ds = {k: dists[k] for k in t["params"]}
    study.add_trial(optuna.trial.create_trial(params=t["params"], distributions=ds, value=t["value"]))
imps = optuna.importance.get_param_importances(
    study, evaluator=FanovaImportanceEvaluator(seed=doc["seed"]), normalize=True
)
json.dump({k: float(v) for k, v in imps.items()}, sys.stdout)
