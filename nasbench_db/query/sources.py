"""The sources of an installed benchmark: which runs each holds, on which datasets and budgets, and how to select them.

Every result row belongs to a source (table ``nasbench_source``, :class:`nasbench_db.models.Source`): the released
file (kind ``'original'``), an EC-NAS-Bench file (``'ecnas'``), or one ``nasbench-db train`` result (``'trained'``,
grouped here by device). :func:`source_groups` reads what ``nasbench-db info`` prints, without scanning the released
runs: other sources' runs are found through the tables that hold only them (NB-101's ``nb101_trial_halfway``,
NB-201's / NATS's ``*_trained_*``).
"""

from __future__ import annotations

from .. import db as _db

_COLUMNS = "s.kind, s.device, s.device_kind, c.dataset, c.num_epochs, COUNT(*)"
_GROUP = " GROUP BY s.kind, s.device, s.device_kind, c.dataset, c.num_epochs"
#: benchmark -> (the table holding only other sources' runs, SQL of (kind, device, device kind, dataset, epochs,
#: runs) over them)
_OTHER_RUNS = {
    "nb101": ("nb101_trial_halfway",
              f"SELECT {_COLUMNS} FROM nb101_trial_halfway h JOIN nb101_trial t ON t.id = h.trial_id "
              "JOIN nasbench_source s ON s.id = t.source_id JOIN nb101_config c ON c.id = t.id / 1024 "
              "WHERE s.kind <> 'original'" + _GROUP),
}
for _prefix in ("nb201", "nats_sss"):
    _OTHER_RUNS[_prefix] = (f"{_prefix}_trained_trialstats",
                            f"SELECT {_COLUMNS} FROM {_prefix}_trained_trialstats t "
                            f"JOIN {_prefix}_trained_trialconfig c ON c.id = t.config_id "
                            "JOIN nasbench_source s ON s.id = t.source_id" + _GROUP)


def source_groups(benchmark: str, db_dir=None) -> list[dict]:
    """One dict per group of runs that a source other than the release added (an EC-NAS file and its device; the
    training results of one device): ``kind``, ``device``, ``device_kind``, ``sources`` (provenance rows: files or
    training results), ``runs``, ``datasets`` (``{dataset: [epochs]}``) and ``select`` (a ``source`` value that
    reads them). Empty for NNI's prebuilt files."""
    handle = _db.open_benchmark(benchmark, db_dir)
    found = _OTHER_RUNS.get(benchmark)
    if found is None or handle.location.layout == "nni":
        return []
    table, sql = found
    if not {"nasbench_source", table} <= _db.table_names(handle.database):
        return []
    groups: dict = {}
    for kind, device, device_kind, dataset, epochs, runs in _db.fetchall(handle.database, sql):
        group = groups.setdefault((kind, device, device_kind), {
            "kind": kind, "device": device, "device_kind": device_kind, "runs": 0, "datasets": {}})
        group["runs"] += runs
        group["datasets"].setdefault(dataset, []).append(epochs)
    counts = {(kind, device): n for kind, device, n in _db.fetchall(
        handle.database, "SELECT kind, device, COUNT(*) FROM nasbench_source WHERE benchmark = ? "
                         "GROUP BY kind, device", (benchmark,))}
    out = []
    for group in groups.values():
        group["datasets"] = {d: sorted(set(e)) for d, e in sorted(group["datasets"].items())}
        group["sources"] = counts.get((group["kind"], group["device"]), 0)
        group["select"] = group["device"] or group["kind"]
        out.append(group)
    return out
