"""What a cell's page shows, read from a served database: the cell, its runs per source, learning curves, hardware
costs and zero-cost proxies. No HTML here (:mod:`.pages` draws it); encodings come from :mod:`nasbench_db.spaces`.

Every reader takes ``execute(sql, params) -> list[dict]`` (the service passes Datasette's, so the SQL time limit and
the read-only authorizer apply) and issues a fixed number of statements per page, whatever the cell.
"""

from __future__ import annotations

import json
import re

from ..errors import OutOfSearchSpace
from ..models import HW_NB201_METRICS, NB101_CONFIG_ID_FACTOR, NB101_TRIAL_ID_FACTOR
from ..spaces import nats_sss as nats_sss_space
from ..spaces import nb101 as nb101_space
from ..spaces import nb201 as nb201_space

#: The longest encoding accepted from a URL (an NB-101 NNI dict is ~250 characters): longer text is refused before
#: it is parsed.
MAX_KEY_CHARS = 4096
#: Most isomorphic cells listed on an NB-201 page (a class has at most a few hundred members).
MAX_ISOMORPHIC = 200
_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
NB201_SPLITS = ("train_acc", "valid_acc", "test_acc", "ori_test_acc")


def _json(text: str, what: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise OutOfSearchSpace(f"{what} is not valid JSON: {exc}") from None


def _text(value) -> str:
    if not isinstance(value, str):
        raise OutOfSearchSpace(f"an architecture key must be text: got {type(value).__name__}")
    value = value.strip()
    if not value:
        raise OutOfSearchSpace("no architecture given: pass an index, arch string, hash or JSON encoding")
    if len(value) > MAX_KEY_CHARS:
        raise OutOfSearchSpace(f"architecture key too long: {len(value)} characters, max {MAX_KEY_CHARS}")
    return value


def nb201_index(value) -> int:
    """The NB-201 index of ``value``: an index, the arch string, NNI's dict as JSON or a JSON list of 6 ops."""
    text = _text(value)
    if text.isdigit():
        return nb201_space.index_of(int(text))
    if text[0] in "{[":
        parsed = _json(text, "the architecture")
        return nb201_space.index_of(tuple(parsed) if isinstance(parsed, list) else parsed)
    return nb201_space.index_of(text)


def nb101_hash(value) -> str:
    """The NB-101 graph hash of ``value``: a 32-hex hash, or ``{"matrix", "ops"}`` / NNI's dict as JSON (pruned and
    hashed as the original ``ModelSpec``)."""
    text = _text(value)
    if _HEX32.match(text):
        return text.lower()
    if text[0] != "{":
        raise OutOfSearchSpace("an NB-101 cell is a 32-hex hash or JSON: {\"matrix\": [[...]], \"ops\": [...]} or "
                               "NNI's {\"op1\": ..., \"input1\": [0], ...}")
    return nb101_space.arch_hash(_json(text, "the architecture"))


def nats_sss_index(value) -> int:
    """The NATS size-space index of ``value``: an index or ``'C1:C2:C3:C4:C5'``."""
    text = _text(value)
    return nats_sss_space.index_of(int(text) if text.isdigit() else text)


def sql_function(parse):
    """``parse`` as a SQL function: the key, or NULL for text that is no architecture (a query finds nothing)."""

    def function(value):
        try:
            return parse(value)
        except (OutOfSearchSpace, ValueError, TypeError, RecursionError):
            return None

    return function


# ----------------------------------------------------------------------------------------------------------------------
# readers


def _present(tables, *names) -> bool:
    return all(name in tables for name in names)


async def nb201_cell(execute, tables, key) -> dict:
    """Everything the page of an NB-201 cell shows (our layout)."""
    index = nb201_index(key)
    ops = nb201_space.arch_of_index(index)
    cell = {"index": index, "arch_str": nb201_space.arch_str(ops), "arch": nb201_space.to_nni(ops), "ops": list(ops),
            "edges": [list(edge) for edge in nb201_space.EDGES], "unique_index": nb201_space.unique_index(ops),
            "has_path": nb201_space.has_path(ops)}
    runs = []
    arms = [("nb201trialconfig", "nb201trialstats", "nb201_epoch")]
    if _present(tables, "nb201_trained_trialconfig", "nb201_trained_trialstats"):
        arms.append(("nb201_trained_trialconfig", "nb201_trained_trialstats", "nb201_trained_epoch"))
    curves_by_run: dict = {}
    for config, trial, epoch in arms:
        rows = await execute(
            f"SELECT c.dataset, c.num_epochs, t.id AS trial_id, t.seed, t.train_acc, t.valid_acc, t.test_acc, "
            f"t.ori_test_acc, t.train_loss, t.valid_loss, t.test_loss, t.parameters, t.flops, t.latency, "
            f"t.training_time, s.id AS source_id, s.kind AS source_kind, s.file_name AS source_file, "
            f"s.device AS source_device FROM {config} c JOIN {trial} t ON t.config_id = c.id "
            f"LEFT JOIN nasbench_source s ON s.id = t.source_id WHERE c.arch_index = ? "
            f"ORDER BY s.id, c.num_epochs DESC, c.dataset, t.seed, t.id", [index])
        for row in rows:
            row["table"] = trial
        runs.extend(rows)
        ids = [row["trial_id"] for row in rows]
        if ids and epoch in tables:
            points = await execute(
                f"SELECT trial_id, current_epoch, {', '.join(NB201_SPLITS)} FROM {epoch} "
                f"WHERE trial_id IN ({', '.join('?' * len(ids))}) ORDER BY trial_id, current_epoch", ids)
            for point in points:
                curves_by_run.setdefault((trial, point.pop("trial_id")), []).append(point)
    cell["runs"] = runs
    cell["curves"] = _mean_curves(runs, curves_by_run)
    if "nb201_arch" in tables:
        members = await execute("SELECT id FROM nb201_arch WHERE unique_index = ? ORDER BY id LIMIT ?",
                                [cell["unique_index"], MAX_ISOMORPHIC + 1])
        cell["isomorphic"] = [row["id"] for row in members]
    else:
        cell["isomorphic"] = []
    cell["costs"] = []
    if "hw_nb201_metric" in tables:
        metrics = [m for m in HW_NB201_METRICS if m in tables["hw_nb201_metric"]]
        cell["costs"] = await execute(f"SELECT dataset, {', '.join(metrics)} FROM hw_nb201_metric "
                                      "WHERE arch_index = ? ORDER BY dataset", [index])
    cell["proxies"] = []
    if "zc_nb201_score" in tables:
        cell["proxies"] = await execute("SELECT dataset, proxy, score, time FROM zc_nb201_score WHERE arch_index = ? "
                                        "ORDER BY proxy, dataset", [index])
    return cell


def _mean_curves(runs, curves_by_run) -> list:
    """Per (source, dataset, budget): the mean over its runs (seeds) of each split's accuracy at every epoch."""
    groups: dict = {}
    for run in runs:
        points = curves_by_run.get((run["table"], run["trial_id"]))
        if not points:
            continue
        group = groups.setdefault((run["source_id"], run["dataset"], run["num_epochs"]),
                                  {"source_id": run["source_id"], "source_kind": run["source_kind"],
                                   "dataset": run["dataset"], "num_epochs": run["num_epochs"], "runs": 0, "sums": {}})
        group["runs"] += 1
        for point in points:
            for split in NB201_SPLITS:
                value = point[split]
                if value is not None:
                    total = group["sums"].setdefault(split, {}).setdefault(point["current_epoch"], [0.0, 0])
                    total[0] += value
                    total[1] += 1
    curves = []
    for group in groups.values():
        series = {split: [[epoch, total / count] for epoch, (total, count) in sorted(by_epoch.items())]
                  for split, by_epoch in group.pop("sums").items()}
        group["series"] = series
        curves.append(group)
    return curves


async def nb101_cell(execute, tables, key) -> dict:
    """Everything the page of an NB-101 cell shows (our layout)."""
    digest = nb101_hash(key)
    rows = await execute("SELECT id, hash, num_vertices, adjacency, operations, parameters FROM nb101_arch "
                         "WHERE hash = ?", [digest])
    if not rows:
        return {"hash": digest, "found": False}
    arch = rows[0]
    matrix = nb101_space.adjacency_to_matrix(arch["adjacency"])
    ops = arch["operations"].split(",")
    cell = {"hash": digest, "found": True, "matrix": [list(r) for r in matrix], "ops": ops,
            "arch": nb101_space.matrix_to_arch(matrix, ops), "num_vertices": arch["num_vertices"],
            "parameters": arch["parameters"]}
    first = arch["id"] * NB101_CONFIG_ID_FACTOR
    low, high = first * NB101_TRIAL_ID_FACTOR, (first + NB101_CONFIG_ID_FACTOR) * NB101_TRIAL_ID_FACTOR - 1
    halfway = "h.halfway_epoch" if "nb101_trial_halfway" in tables else "NULL"
    halfway_join = "LEFT JOIN nb101_trial_halfway h ON h.trial_id = t.id " if halfway != "NULL" else ""
    energy = ("e.energy, e.co2eq, e.total_energy, e.total_co2eq" if "nb101_trial_energy" in tables
              else "NULL AS energy, NULL AS co2eq, NULL AS total_energy, NULL AS total_co2eq")
    energy_join = "LEFT JOIN nb101_trial_energy e ON e.trial_id = t.id " if "nb101_trial_energy" in tables else ""
    cell["runs"] = await execute(
        f"SELECT c.dataset, c.num_epochs, t.id AS trial_id, t.id % {NB101_TRIAL_ID_FACTOR} AS repeat, "
        f"{halfway} AS halfway_epoch, t.halfway_train_acc, t.halfway_valid_acc, t.halfway_test_acc, "
        "t.halfway_training_time, t.train_acc, t.valid_acc, t.test_acc, t.training_time, t.total_time, "
        f"{energy}, s.id AS source_id, s.kind AS source_kind, s.file_name AS source_file, "
        "s.device AS source_device "
        f"FROM nb101_trial t JOIN nb101_config c ON c.id = t.id / {NB101_TRIAL_ID_FACTOR} {halfway_join}"
        f"{energy_join}LEFT JOIN nasbench_source s ON s.id = t.source_id "
        "WHERE t.id BETWEEN ? AND ? ORDER BY s.id, c.num_epochs, c.dataset, t.id", [low, high])
    curves: dict = {}
    for run in cell["runs"]:
        epochs = run["num_epochs"]
        half = run["halfway_epoch"] if run["halfway_epoch"] is not None else epochs / 2
        group = curves.setdefault((run["source_id"], run["dataset"], epochs),
                                  {"source_id": run["source_id"], "source_kind": run["source_kind"],
                                   "dataset": run["dataset"], "num_epochs": epochs, "runs": 0, "points": {}})
        group["runs"] += 1
        for epoch, prefix in ((half, "halfway_"), (epochs, "")):
            for split in ("train_acc", "valid_acc", "test_acc"):
                value = run[prefix + split]
                if value is not None:
                    total = group["points"].setdefault(split, {}).setdefault(epoch, [0.0, 0])
                    total[0] += value
                    total[1] += 1
    cell["curves"] = []
    for group in curves.values():
        group["series"] = {split: [[epoch, total / count] for epoch, (total, count) in sorted(points.items())]
                           for split, points in group.pop("points").items()}
        cell["curves"].append(group)
    cell["proxies"] = []
    if "zc_nb101_score" in tables:
        cell["proxies"] = await execute("SELECT dataset, proxy, score, time FROM zc_nb101_score "
                                        "WHERE hash = ? AND form = 0 ORDER BY proxy", [digest])
    return cell
