"""Synthetic NAS-Bench-NLP training logs in the exact layout of the release's ``train_logs_*/logs.zip``.

The real WikiText-2 logs are bundled (tests/data/nas-bench-nlp/); the PTB archives are not (they are large). This
writes look-alikes: one flat zip of ``log_stats_model_<recipe_id>_<init_time>_<experiment_id>.json`` files, each the
JSON object ``main_one_model_train.py`` dumps (its argument keys in its order, ``recepie`` as JSON text, then
``experiment_id``, ``init_time``, ``num_params``, the four per-epoch lists and ``status``; ``json.dump`` with its
default separators, NaN written as ``NaN``). A run that diverges stops at the first NaN loss with status
``'loss is nan!'``, as the original script does.
"""

from __future__ import annotations

import json
import math
import random
import zipfile
from pathlib import Path

OPS_ONE = ["activation_tanh", "activation_sigm", "activation_leaky_relu"]


def random_recipe(rng: random.Random, hidden: int = 1, nodes: int = 6) -> dict:
    """A random valid recipe: ``node_<i>`` nodes over x / h_prev_<j>, then ``h_new_0 .. h_new_<hidden-1>``."""
    available = ["x"] + [f"h_prev_{j}" for j in range(hidden)]
    recipe = {}
    for i in range(nodes):
        choice = rng.random()
        if choice < 0.45 or i == 0:
            spec = {"op": "linear", "input": rng.sample(available, min(len(available), rng.choice([1, 2, 2, 3])))}
        elif choice < 0.8:
            spec = {"op": rng.choice(OPS_ONE), "input": [rng.choice(available)]}
        elif choice < 0.93 and len(available) >= 2:
            spec = {"op": rng.choice(["elementwise_sum", "elementwise_prod"]), "input": rng.sample(available, 2)}
        elif len(available) >= 3:
            spec = {"op": "blend", "input": rng.sample(available, 3)}
        else:
            spec = {"op": "linear", "input": [rng.choice(available)]}
        recipe[f"node_{i}"] = spec
        available.append(f"node_{i}")
    for j in range(hidden):
        recipe[f"h_new_{j}"] = {"op": rng.choice(OPS_ONE), "input": [f"node_{nodes - 1 - j}"]}
    return recipe


def make_log(recipe: dict, dataset: str, recipe_id: int, experiment_id: int, init_time: str, rng: random.Random,
             status: str = "OK", epochs: int = 50, stop_at: int | None = None) -> dict:
    """One log, keys in the original order. ``status`` other than 'OK' stops the lists at ``stop_at`` epochs (the
    last with NaN losses for 'loss is nan!')."""
    base = rng.uniform(4.5, 6.5)
    log = {
        "data": f"data/{dataset}", "recepie_id": recipe_id, "recepies_list_path": "data/models_recepies.json",
        "cuda": True, "batch_size": 20, "model": "CustomRNN", "emsize": 400, "nhid": 600, "nlayers": 3,
        "dropout": 0.1, "dropouth": 0.25, "dropouti": 0.4, "dropoute": 0.0, "wdrop": 0.1, "tied": True, "bptt": 70,
        "lr": 0.001, "wdecay": 1.2e-06, "epochs": epochs, "alpha": 2, "beta": 1, "log_interval": 200, "clip": 0.25,
        "eval_batch_size": 50, "recepie": json.dumps(recipe), "experiment_id": experiment_id,
        "init_time": init_time, "num_params": rng.randrange(5_000_000, 30_000_000),
    }
    run = epochs if status == "OK" else (stop_at if stop_at is not None else rng.randrange(1, epochs))
    epoch_time = rng.uniform(100, 500)
    train, val, test, times = [], [], [], []
    for e in range(run):
        decay = base * math.exp(-e / 15) + 4.0
        train.append(decay - 0.3 + rng.uniform(-0.05, 0.05))
        val.append(decay + rng.uniform(-0.05, 0.05))
        test.append(decay - 0.08 + rng.uniform(-0.05, 0.05))
        times.append(epoch_time + rng.uniform(-2, 2))
    if status == "loss is nan!" and run:
        train[-1] = val[-1] = test[-1] = float("nan")
    log.update(wall_times=times, train_losses=train, val_losses=val, test_losses=test, status=status)
    return log


def log_name(log: dict) -> str:
    return f"log_stats_model_{log['recepie_id']}_{log['init_time']}_{log['experiment_id']}.json"


def init_time(rng: random.Random) -> str:
    return (f"2020-{rng.randrange(4, 7):02d}-{rng.randrange(1, 29):02d}_{rng.randrange(24):02d}-"
            f"{rng.randrange(60):02d}-{rng.randrange(60):02d}")


def write_zip(path: Path, logs: list[dict], compression=zipfile.ZIP_DEFLATED) -> Path:
    """A flat logs.zip, as the release's (members at the archive's root)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression) as archive:
        for log in logs:
            archive.writestr(log_name(log), json.dumps(log))
    return path


def write_dir(path: Path, logs: list[dict]) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for log in logs:
        (path / log_name(log)).write_text(json.dumps(log))
    return path


def ptb_archives(single: int, multi_recipes: int, overlap: int, seed: int = 0, epochs: int = 50,
                 failed_every: int = 0, recipe_nodes: int = 6) -> tuple[list[dict], list[dict]]:
    """``(single_run_logs, multi_runs_logs)`` shaped like the PTB archives: ``single`` logs, one per recipe;
    ``multi_recipes`` recipes trained 3 times each, of which ``overlap`` logs are the very same files as in the
    single-run set (the duplicates NNI's script warns about). ``failed_every``: every n-th single-run log diverges."""
    rng = random.Random(seed)
    recipes = [random_recipe(rng, hidden=rng.choice([1, 1, 2]), nodes=rng.randrange(3, recipe_nodes + 1))
               for _ in range(single)]
    single_logs = []
    for i, recipe in enumerate(recipes):
        failed = failed_every and i % failed_every == failed_every - 1
        single_logs.append(make_log(recipe, "ptb", i, 999_900_000 + i, init_time(rng), rng,
                                    status="loss is nan!" if failed else "OK", epochs=epochs))
    multi_logs = []
    shared = single_logs[:overlap]
    multi_logs.extend(json.loads(json.dumps(log)) for log in shared)  # the same files, byte for byte
    needed = multi_recipes * 3 - overlap
    for k in range(max(0, needed)):
        i = k // 3 % max(1, single)
        multi_logs.append(make_log(recipes[i], "ptb", i, 999_000_000 + k, init_time(rng), rng, epochs=epochs))
    return single_logs, multi_logs
