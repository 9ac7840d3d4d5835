"""Canned queries of the browsable service, generated for what each database holds.

Every benchmark gets the same questions, written once here as SQL templates over a per-config row set (``cfg``: one
row per config, the mean over its runs, as :func:`nasbench_db.analysis.filter_archs` with ``reduction='mean'``), with
the hardware costs and zero-cost proxies joined by the cell's key:

* ``top_k``: the k best configs by a metric, cost or proxy, under a parameter bound and a bound on any column;
* ``pareto``: the configs on the Pareto front of a metric (maximised) against a cost (minimised), as
  :func:`nasbench_db.analysis.pareto_front`;
* ``correlation``: Spearman's rank correlation of two columns (e.g. a proxy with test accuracy) in SQL (window-function
  ranks, ties averaged as scipy does); Kendall's tau needs scipy: the correlation page computes both;
* ``arch``: a cell by any of its encodings (NB-201: index, arch string or NNI dict; NB-101: hash, ``{"matrix",
  "ops"}`` or NNI dict; NATS size space: index or channels string), through SQL functions registered by the plugin
  that call :mod:`nasbench_db.spaces` (the one home of encodings and hashing).

Parameters come from the query string; Datasette passes a missing one as ``''``, which means the default (first CTE
``p`` of every query). Metric names are those of ``nasbench-db top`` (``valid_acc``, ``edgegpu_latency``,
``synflow`` or ``zc_synflow``...). A name the database does not have gives no rows.

Speed: a query names its metric and cost by parameter, so ``cfg`` averages only what is asked (one ``AVG(CASE ...)``
per named column, plus a few shown columns) instead of every metric of every run, and its filters are written with
the bound values in place so SQLite walks the (dataset, epochs) index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..analysis import ZC_COST_PROXIES
from ..models import HW_AVERAGE_FACTORS, HW_NB201_METRICS

#: Metrics asked for most, tested first in the per-run CASE.
COMMON_METRICS = ("valid_acc", "test_acc", "final_test_acc", "val_loss", "train_acc", "parameters")
#: Metrics ranked smallest first when no ``order`` is given (losses, times, costs).
ASCENDING_SUFFIXES = ("loss", "time", "latency", "energy", "co2eq", "parameters", "flops", "average_hw_metric")


@dataclass
class Served:
    """One database file the service serves, and what it holds."""

    name: str  # Datasette's name for it (the file's stem)
    benchmark: str  # 'nb101', 'nb201', 'nats_sss', 'nds', 'nlp'
    layout: str  # 'nasbench_db' (ours) or 'nni' (NNI's prebuilt file)
    path: str
    tables: dict = field(default_factory=dict)  # table or view -> frozenset of columns
    proxies: tuple = ()  # zero-cost proxy names loaded beside the benchmark
    sources: list = field(default_factory=list)  # provenance rows: {id, kind, file_name, device}
    views: frozenset = frozenset()  # which of ``tables`` are views

    def has(self, table: str, *columns: str) -> bool:
        return table in self.tables and all(column in self.tables[table] for column in columns)


@dataclass
class Space:
    """How one benchmark's per-config rows are read, and which values a query can name."""

    source: str  # FROM ... WHERE ... (filters written over ``p.<param>``), without GROUP BY
    group: str  # GROUP BY expression (the config key)
    labels: tuple  # (SQL, name) of the config's own columns
    run_metrics: dict  # name -> SQL of one run's value (averaged over the config's runs)
    config_metrics: dict = field(default_factory=dict)  # name -> SQL over a cfg row: one value per config
    late_join: str = ""  # joins read for the rows a page shows only (alias la)
    late_labels: tuple = ()  # (SQL over la, name), shown first
    shown: tuple = ()  # run metrics always shown (averaged)
    joins: str = ""  # joins of cost tables to cfg (alias h)
    costs: dict = field(default_factory=dict)  # name -> SQL over h
    proxy: str | None = None  # SQL of one proxy's score, with {name} for the proxy-name expression
    params: tuple = ()  # (name, SQL of its value) of the filter parameters, in form order
    cell_key: str | None = None  # the label naming the cell (linked to its page)
    default_metric: str = "valid_acc"
    default_cost: str = "parameters"
    default_y: str = "test_acc"
    notes: str = ""

    @property
    def metrics(self) -> tuple:
        return tuple(self.run_metrics) + tuple(m for m in self.config_metrics if m not in self.run_metrics)


def _param(name: str, default: str, cast: str = "") -> str:
    expression = f"COALESCE(NULLIF(:{name}, ''), {default})"
    return f"CAST({expression} AS {cast})" if cast else expression


def _dataset_param(default: str) -> tuple:
    return ("dataset", "lower(" + _param("dataset", f"'{default}'") + ")")


_NB201_SPLITS = ("train_acc", "valid_acc", "test_acc", "ori_test_acc", "train_loss", "valid_loss", "test_loss",
                 "ori_test_loss")


def _nb201_space(served: Served) -> Space:
    ours = served.layout != "nni"
    sss = served.benchmark == "nats_sss"
    prefix = "nats_sss_" if sss else "nb201"
    labels = [("c.id", "config_id")]
    if ours:
        labels.append(("c.arch_index", "arch_index"))
    if sss:
        labels.append(("c.arch", "channels"))
    elif not ours:
        labels.append(("c.arch", "arch"))
    labels += [("c.dataset", "dataset"), ("c.num_epochs", "num_epochs"),
               ("CASE WHEN c.dataset = 'cifar10-valid' THEN 'cifar10' ELSE c.dataset END", "joined_dataset")]
    run_metrics = {m: f"t.{m}" for m in _NB201_SPLITS + ("latency", "training_time", "parameters", "flops")}
    space = Space(source=(f"FROM {prefix}trialconfig c JOIN {prefix}trialstats t ON t.config_id = c.id\n"
                          "  WHERE c.dataset = p.dataset AND c.num_epochs = p.epochs"),
                  group="c.id", labels=tuple(labels), run_metrics=run_metrics,
                  shown=("valid_acc", "test_acc", "parameters", "flops"),
                  params=(_dataset_param("cifar10-valid"), ("epochs", _param("epochs", "90" if sss else "200",
                                                                                   "INTEGER"))),
                  cell_key="arch_index" if ours and not sss else None)
    if served.has("hw_nb201_metric", "edgegpu_latency") and ours and not sss:
        space.joins = ("\n  LEFT JOIN hw_nb201_metric h ON h.arch_index = cfg.arch_index "
                       "AND h.dataset = cfg.joined_dataset")
        space.costs = {metric: f"h.{metric}" for metric in HW_NB201_METRICS}
        space.costs["average_hw_metric"] = " * ".join(f"h.{m}" for m in HW_AVERAGE_FACTORS)
    if served.has("zc_nb201_score", "score") and ours and not sss:
        space.proxy = ("(SELECT z.score FROM zc_nb201_score z WHERE z.arch_index = cfg.arch_index "
                       "AND z.dataset = cfg.joined_dataset AND z.proxy = {name})")
    epochs = "1, 12, 90" if sss else "12, 200"
    space.notes = f"dataset: cifar10-valid (default), cifar10, cifar100, imagenet16-120; epochs: {epochs}"
    return space


def _nb101_space(served: Served) -> Space:
    if served.layout == "nni":
        return Space(source=("FROM nb101trialconfig c JOIN nb101trialstats t ON t.config_id = c.id\n"
                             "  WHERE c.num_epochs = p.epochs"),
                     group="c.id", labels=(("c.id", "config_id"), ("c.hash", "hash"),
                                           ("c.num_vertices", "num_vertices"), ("c.num_epochs", "num_epochs")),
                     run_metrics={"train_acc": "t.train_acc", "valid_acc": "t.valid_acc", "test_acc": "t.test_acc",
                                  # NNI's file stores the final time x 60 (its db_gen bug): seconds here
                                  "training_time": "t.training_time / 60.0", "parameters": "t.parameters"},
                     shown=("valid_acc", "test_acc", "training_time", "parameters"),
                     params=(("epochs", _param("epochs", "108", "INTEGER")),), notes="epochs: 4, 12, 36, 108")
    run_metrics = {m: f"t.{m}" for m in ("train_acc", "valid_acc", "test_acc", "training_time", "halfway_train_acc",
                                         "halfway_valid_acc", "halfway_test_acc", "halfway_training_time",
                                         "total_time")}
    if served.has("nb101_trial_energy", "total_energy"):
        # EC-NAS-Bench runs only (source=ecnas); read per run only when asked for
        for column in ("energy", "co2eq", "total_energy", "total_co2eq"):
            run_metrics[column] = f"(SELECT e.{column} FROM nb101_trial_energy e WHERE e.trial_id = t.id)"
    run_kinds = {source["kind"] for source in served.sources} - {"hw-nasbench", "zc"}
    # Runs of other sources than the release (EC-NAS-Bench, self-trained) share the tables: filter by source when
    # there are any (a file of released runs only skips the per-run test).
    by_source = bool(run_kinds - {"original"})
    source_filter = ("\n    AND t.source_id IN (SELECT s.id FROM nasbench_source s WHERE s.kind = p.source\n"
                     "                        OR (p.source = 'all' AND s.kind NOT IN ('hw-nasbench', 'zc')))"
                     if by_source else "")
    arch = "(SELECT a.{column} FROM nb101_arch a WHERE a.id = cfg.config_id / 16)"
    space = Space(
        # The CROSS JOIN and id ranges walk config -> run by primary key (models.Nb101Trial); "+c.num_epochs" keeps
        # SQLite from building an automatic index on the budget (as analysis.py does). The cell (hash, parameters)
        # is read per config, and for the shown rows only, not per run.
        source=("FROM nb101_config c CROSS JOIN nb101_trial t\n"
                "  WHERE +c.num_epochs = p.epochs AND c.dataset = p.dataset\n"
                f"    AND t.id BETWEEN c.id * 1024 AND c.id * 1024 + 1023{source_filter}"),
        group="c.id", labels=(("c.id", "config_id"), ("c.num_epochs", "num_epochs"), ("c.dataset", "dataset")),
        run_metrics=run_metrics, config_metrics={"parameters": arch.format(column="parameters") + " / 1e6"},
        late_join="\n  JOIN nb101_arch la ON la.id = cfg.config_id / 16",
        late_labels=(("la.hash", "hash"), ("la.num_vertices", "num_vertices")),
        shown=("valid_acc", "test_acc", "training_time", "parameters"), cell_key="hash",
        params=(("epochs", _param("epochs", "108", "INTEGER")), _dataset_param("cifar10"))
        + ((("source", "lower(" + _param("source", "'original'") + ")"),) if by_source else ()),
        notes="epochs: 4, 12, 36, 108"
              + ("; source: original (default), " + ", ".join(sorted(run_kinds - {"original"})) + " or all"
                 if by_source else "")
              + ("; EC-NAS-Bench energy in kWh and CO2-equivalent in g with source=ecnas"
                 if "energy" in run_metrics and "ecnas" in run_kinds else ""))
    if served.has("zc_nb101_score", "score"):
        space.proxy = (f"(SELECT z.score FROM zc_nb101_score z WHERE z.hash = {arch.format(column='hash')} "
                       "AND z.dataset = 'cifar10' AND z.form = 0 AND z.proxy = {name})")
    return space


def _nds_space(served: Served) -> Space:
    metrics = ("final_train_acc", "final_train_loss", "final_test_acc", "best_train_acc", "best_train_loss",
               "best_test_acc", "parameters", "flops", "iter_time")
    return Space(source=("FROM ndstrialconfig c JOIN ndstrialstats t ON t.config_id = c.id\n"
                         "  WHERE c.dataset = p.dataset AND (p.proposer = '' OR c.proposer = p.proposer)\n"
                         "    AND (p.generator = '' OR c.generator = p.generator)"),
                 group="c.id", labels=(("c.id", "config_id"), ("c.model_family", "model_family"),
                                       ("c.proposer", "proposer"), ("c.generator", "generator"),
                                       ("c.dataset", "dataset"), ("c.num_epochs", "num_epochs")),
                 run_metrics={m: f"t.{m}" for m in metrics}, shown=("final_test_acc", "parameters", "flops"),
                 params=(_dataset_param("cifar10"), ("proposer", "COALESCE(:proposer, '')"),
                         ("generator", "COALESCE(:generator, '')")),
                 default_metric="final_test_acc", default_y="best_test_acc",
                 notes="dataset: cifar10 (default), imagenet; proposer: amoeba, darts, enas, nasnet, pnas, resnet, "
                       "resnext-a, ... (empty: all); generator: random, fix_w_d, tune_lr_wd (empty: all)")


def _nlp_space(served: Served) -> Space:
    metrics = ("train_loss", "val_loss", "test_loss", "training_time")
    return Space(source=("FROM nlptrialconfig c JOIN nlptrialstats t ON t.config_id = c.id\n"
                         "  WHERE c.dataset = p.dataset"),
                 group="c.id", labels=(("c.id", "config_id"), ("c.dataset", "dataset")),
                 run_metrics={m: f"t.{m}" for m in metrics}, shown=("val_loss", "test_loss"),
                 params=(_dataset_param("ptb"),), default_metric="val_loss", default_cost="training_time",
                 default_y="test_loss",
                 notes="dataset: ptb (default), wikitext-2; losses in nats per token (perplexity = exp(loss))")


def space_of(served: Served) -> Space | None:
    """The per-config spec of a served database (None when its tables are not there)."""
    b = served.benchmark
    if b in ("nb201", "nats_sss"):
        prefix = "nats_sss_" if b == "nats_sss" else "nb201"
        if served.has(f"{prefix}trialconfig") and served.has(f"{prefix}trialstats"):
            return _nb201_space(served)
    elif b == "nb101":
        if served.layout == "nni":
            return _nb101_space(served) if served.has("nb101trialstats") else None
        if served.has("nb101_config") and served.has("nb101_trial") and served.has("nb101_arch"):
            return _nb101_space(served)
    elif b == "nds" and served.has("ndstrialconfig") and served.has("ndstrialstats"):
        return _nds_space(served)
    elif b == "nlp" and served.has("nlptrialconfig") and served.has("nlptrialstats"):
        return _nlp_space(served)
    return None


# ----------------------------------------------------------------------------------------------------------------------
# templates


def _inline(sql: str, expressions: dict) -> str:
    """``p.<name>`` replaced by the parameter's own SQL: SQLite plans a bound value as a constant (and walks the
    (dataset, epochs) index), where a join to the parameter CTE makes it build an automatic index on every query."""
    return re.sub(r"\bp\.(\w+)", lambda m: f"({expressions[m.group(1)]})" if m.group(1) in expressions
                  else m.group(0), sql)


def _cfg(space: Space, selected: dict) -> str:
    """One row per config: its labels, run count, and for each ``selected`` output column the value named by a
    parameter (``{output: parameter name}``), averaged over the config's runs."""
    columns = [f"{sql} AS {name}" for sql, name in space.labels] + ["COUNT(*) AS num_runs"]
    for output, param in selected.items():
        # '' (no cost named) first, then the usual metrics: each run row compares until the first match
        order = sorted(space.run_metrics, key=lambda m: (m not in COMMON_METRICS, COMMON_METRICS.index(m)
                                                         if m in COMMON_METRICS else 0))
        run = " ".join(f"WHEN '{m}' THEN {space.run_metrics[m]}" for m in order)
        columns.append(f"AVG(CASE p.{param} WHEN '' THEN NULL {run} END) AS {output}")
    return f"SELECT {', '.join(columns)}\n  {space.source}\n  GROUP BY {space.group}"


def _shown_cte(space: Space, keys: str, params: dict) -> str:
    """``shown``: the always-shown means, read for the configs of CTE ``keys`` only (the rows a page shows)."""
    columns = [f"AVG({space.run_metrics[m]}) AS {m}" for m in space.shown if m in space.run_metrics]
    sql = (f"SELECT {space.group} AS shown_key, {', '.join(columns)}\n  {space.source}\n"
           f"    AND {space.group} IN (SELECT config_id FROM {keys})\n  GROUP BY {space.group}")
    return f"shown AS ({_inline(sql, params)})"


def value_expr(space: Space, param: str, column: str) -> str:
    """SQL of the value named by parameter ``param`` for a cfg row: the benchmark's own metric (cfg.``column``), an
    HW-NAS-Bench cost, or a zero-cost proxy."""
    own = ", ".join(f"'{m}'" for m in space.run_metrics)
    whens = [f"WHEN p.{param} IN ({own}) THEN cfg.{column}"]
    # one value per config (NB-101's parameter count): taken as it is, an average could move the last bit
    whens += [f"WHEN p.{param} = '{m}' THEN {sql}" for m, sql in space.config_metrics.items()
              if m not in space.run_metrics]
    whens += [f"WHEN p.{param} = '{c}' THEN {sql}" for c, sql in space.costs.items()]
    # NASLib's parameter / FLOP counts are proxies only as zc_params / zc_flops (as in analysis.py)
    whens += [f"WHEN p.{param} = '{c}' THEN NULL" for c in ZC_COST_PROXIES if c not in space.metrics]
    otherwise = "NULL"
    if space.proxy:
        otherwise = space.proxy.format(
            name=f"CASE WHEN substr(p.{param}, 1, 3) = 'zc_' THEN substr(p.{param}, 4) ELSE p.{param} END")
    return "CASE " + " ".join(whens) + f" ELSE {otherwise} END"


def _order_default(param: str, default: str) -> str:
    """``:order`` when given, else 'asc' for a loss, time or cost (named by parameter ``param``), else 'desc'."""
    tests = " OR ".join(f"m LIKE '%{suffix}'" for suffix in ASCENDING_SUFFIXES)
    return (f"CASE WHEN :order <> '' THEN lower(:order) ELSE (SELECT CASE WHEN {tests} THEN 'asc' ELSE 'desc' END "
            f"FROM (SELECT {_param(param, repr(default))} AS m)) END")


def _with(space: Space, extra: list, selected: dict) -> tuple:
    """``(WITH p AS (parameters), cfg AS (per-config rows), , parameters)``, the parameters written into cfg."""
    params = list(space.params) + list(extra)
    items = ",\n              ".join(f"{sql} AS {name}" for name, sql in params)
    return f"WITH p AS (SELECT {items}),\ncfg AS ({_inline(_cfg(space, selected), dict(params))}),\n", dict(params)


def _shown(space: Space) -> list:
    names = [f"{sql} AS {name}" for sql, name in space.late_labels]
    names += [f"cfg.{name}" for _, name in space.labels if name != "joined_dataset"] + ["cfg.num_runs"]
    for name in space.shown:
        if name in space.run_metrics:
            names.append(f"shown.{name}")
        else:
            names.append(f"{space.config_metrics[name]} AS {name}")
    return names


def _costs(space: Space) -> list:
    return [f"{sql} AS {name}" for name, sql in space.costs.items()]


def top_k_sql(space: Space) -> str:
    extra = [("metric", _param("metric", f"'{space.default_metric}'")),
             ("sort", _order_default("metric", space.default_metric)),
             ("k", _param("k", "10", "INTEGER")),
             ("max_params", "CAST(NULLIF(:max_params, '') AS REAL)"),
             ("cost", "COALESCE(:cost, '')"),
             ("min_cost", "CAST(NULLIF(:min_cost, '') AS REAL)"),
             ("max_cost", "CAST(NULLIF(:max_cost, '') AS REAL)")]
    selected = {"metric_value": "metric", "cost_value": "cost"}
    params_sql = None
    if "parameters" in space.run_metrics:
        selected["params_value"] = "params_name"
        extra.append(("params_name", "'parameters'"))
        params_sql = "cfg.params_value"
    elif "parameters" in space.config_metrics:
        params_sql = space.config_metrics["parameters"]
    metric, cost = value_expr(space, "metric", "metric_value"), value_expr(space, "cost", "cost_value")
    bounds = "(p.cost = '' OR ((p.min_cost IS NULL OR cost_value >= p.min_cost)\n" \
             "                         AND (p.max_cost IS NULL OR cost_value <= p.max_cost)))"
    params_value = ""
    if params_sql is not None:
        bounds += "\n    AND (p.max_params IS NULL OR params_value <= p.max_params)"
        params_value = f", CASE WHEN p.max_params IS NOT NULL THEN {params_sql} END AS params_value"
    # Rank on the one value first; the shown columns and costs are read for the k rows kept only.
    head, params = _with(space, extra, selected)
    return (head +
            f"valued AS (SELECT cfg.config_id AS config_id, {metric} AS value,\n"
            f"                  {cost} AS cost_value{params_value}\n"
            f"  FROM p CROSS JOIN cfg{space.joins}),\n"
            "best AS (SELECT valued.* FROM valued CROSS JOIN p\n"
            f"  WHERE value IS NOT NULL AND {bounds}\n"
            "  ORDER BY CASE WHEN p.sort = 'asc' THEN value END ASC, CASE WHEN p.sort <> 'asc' THEN value END DESC,\n"
            "           config_id\n  LIMIT (SELECT k FROM p)),\n"
            f"{_shown_cte(space, 'best', params)}\n"
            "SELECT p.metric AS metric, best.value AS value, NULLIF(p.cost, '') AS cost,\n"
            "       CASE WHEN p.cost <> '' THEN best.cost_value END AS cost_value,\n"
            f"       {', '.join(_shown(space) + _costs(space))}\n"
            "FROM best JOIN cfg ON cfg.config_id = best.config_id JOIN shown ON shown.shown_key = best.config_id\n"
            f"  CROSS JOIN p{space.joins}{space.late_join}\n"
            "ORDER BY CASE WHEN p.sort = 'asc' THEN best.value END ASC, "
            "CASE WHEN p.sort <> 'asc' THEN best.value END DESC, best.config_id")


def pareto_sql(space: Space) -> str:
    extra = [("cost", _param("cost", f"'{space.default_cost}'")),
             ("metric", _param("metric", f"'{space.default_metric}'")),
             ("sort", "CASE WHEN lower(:order) = 'asc' THEN 'asc' ELSE 'desc' END")]
    selected = {"cost_value": "cost", "metric_value": "metric"}
    head, params = _with(space, extra, selected)
    return (head +
            f"points AS (SELECT cfg.config_id AS config_id, {value_expr(space, 'cost', 'cost_value')} AS cost_value,\n"
            f"                  {value_expr(space, 'metric', 'metric_value')} AS metric_value\n"
            f"  FROM p CROSS JOIN cfg{space.joins}),\n"
            "signed AS (SELECT points.*, CASE WHEN p.sort = 'asc' THEN -metric_value ELSE metric_value END AS s\n"
            "  FROM points CROSS JOIN p WHERE cost_value IS NOT NULL AND metric_value IS NOT NULL),\n"
            # On the front: a metric better than every config of lower cost, and than those of the same cost
            # ordered before it (the best of a cost, ties to the lower key), as analysis.pareto_front.
            "front AS (SELECT signed.*, MAX(s) OVER (ORDER BY cost_value, s DESC, config_id\n"
            "                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS best_before\n"
            "  FROM signed),\n"
            "onfront AS (SELECT * FROM front WHERE best_before IS NULL OR s > best_before),\n"
            f"{_shown_cte(space, 'onfront', params)}\n"
            "SELECT p.cost AS cost, onfront.cost_value AS cost_value, p.metric AS metric, "
            f"onfront.metric_value AS metric_value,\n       {', '.join(_shown(space))}\n"
            "FROM onfront JOIN cfg ON cfg.config_id = onfront.config_id\n"
            f"  JOIN shown ON shown.shown_key = onfront.config_id CROSS JOIN p{space.late_join}\n"
            "ORDER BY onfront.cost_value, onfront.config_id")


def pairs_sql(space: Space) -> str:
    """Both columns of every config that has them: ``(key, x, y)`` (read by the correlation page)."""
    extra = [("x", _param("x", f"'{space.default_metric}'")), ("y", _param("y", f"'{space.default_y}'"))]
    return (_with(space, extra, {"x_value": "x", "y_value": "y"})[0] +
            f"pairs AS (SELECT cfg.config_id AS config_key, {value_expr(space, 'x', 'x_value')} AS x,\n"
            f"                 {value_expr(space, 'y', 'y_value')} AS y\n"
            f"  FROM p CROSS JOIN cfg{space.joins})\n"
            "SELECT config_key, x, y FROM pairs WHERE x IS NOT NULL AND y IS NOT NULL")


def correlation_sql(space: Space) -> str:
    """Spearman's rho of ``x`` and ``y`` in SQL: Pearson's r of the ranks, tied values sharing their mean rank."""
    pairs = pairs_sql(space).rsplit("\nSELECT config_key", 1)[0]
    return (f"{pairs},\n"
            "valid AS (SELECT x, y FROM pairs WHERE x IS NOT NULL AND y IS NOT NULL),\n"
            # a tie's mean rank: (its first rank + its last) / 2; COUNT(*) over the default frame counts the rows up
            # to the last tie, so each needs one sort
            "ranks AS (SELECT (RANK() OVER wx + COUNT(*) OVER wx) / 2.0 AS rx,\n"
            "                 (RANK() OVER wy + COUNT(*) OVER wy) / 2.0 AS ry\n"
            "          FROM valid WINDOW wx AS (ORDER BY x), wy AS (ORDER BY y)),\n"
            "means AS (SELECT COUNT(*) AS n, AVG(rx) AS mx, AVG(ry) AS my FROM ranks),\n"
            "sums AS (SELECT SUM((rx - mx) * (ry - my)) AS sxy, SUM((rx - mx) * (rx - mx)) AS sxx,\n"
            "                SUM((ry - my) * (ry - my)) AS syy FROM ranks CROSS JOIN means)\n"
            "SELECT p.x AS x, p.y AS y, means.n AS n,\n"
            "       CASE WHEN sxx > 0 AND syy > 0 THEN sxy / sqrt(sxx * syy) END AS spearman_rho\n"
            "FROM p CROSS JOIN means CROSS JOIN sums")


def choices(space: Space, served: Served) -> str:
    """The column names a query accepts, for its description."""
    names = list(space.metrics) + list(space.costs)
    text = ", ".join(names)
    if space.proxy and served.proxies:
        # a proxy named like a column of the benchmark (NASLib's flops, params) only under its zc_ name
        shown = [p if p not in names and p not in ZC_COST_PROXIES else "zc_" + p for p in served.proxies]
        text += "; zero-cost proxies: " + ", ".join(shown) + " (any as zc_<name> too)"
    return text


def canned_queries(served: Served) -> dict:
    """Datasette ``queries`` metadata of one served database."""
    space = space_of(served)
    out: dict = {}
    if space is not None:
        names = choices(space, served)
        filters = [name for name, _ in space.params]
        bound = "Bounds: max_params (millions), " if "parameters" in space.metrics else "Bounds: "
        out["top_k"] = {
            "title": "Top-k configs by a metric, under bounds",
            "description": (f"The k (default 10) best configs, mean over runs, by a metric, cost or proxy. "
                            f"{space.notes}. metric (default {space.default_metric}) and cost: {names}. order: asc or "
                            f"desc (default: desc; asc for losses, times and costs). {bound}min_cost / max_cost on "
                            "the column named by cost."),
            "sql": top_k_sql(space), "hide_sql": True,
            "params": filters + ["metric", "order", "k", "max_params", "cost", "min_cost", "max_cost"],
        }
        out["pareto"] = {
            "title": "Pareto front of a metric against a cost",
            "description": (f"Configs that no config of lower or equal cost beats (cost minimised, metric maximised; "
                            f"order=asc minimises the metric), cheapest first. {space.notes}. cost (default "
                            f"{space.default_cost}) and metric (default {space.default_metric}): {names}. Plotted "
                            f"over every config: /{served.name}/-/pareto."),
            "sql": pareto_sql(space), "hide_sql": True,
            "params": filters + ["cost", "metric", "order"],
        }
        out["correlation"] = {
            "title": "Rank correlation of two columns (Spearman, in SQL)",
            "description": (f"Spearman's rho of x (default {space.default_metric}) and y (default "
                            f"{space.default_y}) over the configs having both (means over runs). {space.notes}. "
                            f"Columns: {names}. Kendall's tau and p-values: the correlation page, "
                            f"/{served.name}/-/correlation."),
            "sql": correlation_sql(space), "hide_sql": True,
            "params": filters + ["x", "y"],
        }
    arch = arch_query(served)
    if arch is not None:
        out["arch"] = arch
    return out


def arch_query(served: Served) -> dict | None:
    if served.layout == "nni":
        return None
    if served.benchmark == "nb201" and served.has("nb201_arch"):
        return {
            "title": "A cell by any of its encodings",
            "description": ("arch: the NB-201 index (11472), the arch string (|nor_conv_3x3~0|+|...|), or NNI's dict "
                            "as JSON ({\"0_1\": \"conv_3x3\", ...}). The index links to the cell's page."),
            "sql": ("SELECT a.id AS arch_index, a.arch_str, a.arch, a.unique_index, a.num_conv3x3, a.num_conv1x1, "
                    "a.has_path\nFROM nb201_arch a WHERE a.id = nb201_index(:arch)"),
            "params": ["arch"],
        }
    if served.benchmark == "nb101" and served.has("nb101_arch"):
        return {
            "title": "A cell by any of its encodings",
            "description": ("arch: the 32-hex graph hash, {\"matrix\": [[...]], \"ops\": [...]} as JSON (any "
                            "labelling: pruned and hashed like the original ModelSpec), or NNI's dict ({\"op1\": ..., "
                            "\"input1\": [0], ...}). The hash links to the cell's page."),
            "sql": ("SELECT a.hash, a.num_vertices, a.adjacency, a.operations, a.parameters\n"
                    "FROM nb101_arch a WHERE a.hash = nb101_hash(:arch)"),
            "params": ["arch"],
        }
    if served.benchmark == "nats_sss" and served.has("nats_sss_arch"):
        return {
            "title": "An architecture by index or channels",
            "description": "arch: the NATS size-space index (0..32767) or its channels '8:16:32:48:64'.",
            "sql": "SELECT a.* FROM nats_sss_arch a WHERE a.id = nats_sss_index(:arch)",
            "params": ["arch"],
        }
    return None
