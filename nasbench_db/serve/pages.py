"""All HTML and SVG of the browsable service: the cell pages (the cell drawn, runs per source, learning curves, costs,
proxies), the correlation page, the index's benchmark list and the error page.

Pages are plain server-side HTML inside Datasette's own layout (``base.html``) and work without JavaScript; charts are
inline SVG. Every value from a database is escaped. The graph of a cell comes from :mod:`nasbench_db.spaces` (NB-201
edges, NB-101 matrices); what is drawn where is decided here.
"""

from __future__ import annotations

import math
from urllib.parse import quote, urlencode

from markupsafe import Markup, escape

from .. import db as _db
from ..models import HW_NB201_METRICS
from ..spaces import nb101 as nb101_space
from ..spaces import nb201 as nb201_space

PAGE_TEMPLATE = """{% extends "base.html" %}
{% block title %}{{ title }}{% endblock %}
{% block extra_head %}<style>{{ style }}</style>{% endblock %}
{% block crumbs %}<p class="crumbs"><a href="{{ urls.instance() }}">home</a>{% if database %} / <a
href="{{ urls.database(database) }}">{{ database }}</a>{% endif %}</p>{% endblock %}
{% block content %}{{ body }}{% endblock %}"""

STYLE = """
.nb-figures { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.nb-figures figure { margin: 0; }
.nb-figures figcaption { font-size: 0.85em; color: #444; max-width: 380px; }
svg.nb-chart text, svg.nb-cell text { font-family: Helvetica, Arial, sans-serif; }
table.nb-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
.nb-caption { font-size: 0.85em; color: #444; }
.nb-keys th { text-align: left; padding-right: 1em; font-weight: normal; color: #444; vertical-align: top; }
.nb-keys code { word-break: break-all; }
form.nb-cell-form input[type=text] { width: 36em; max-width: 90%; }
"""

#: Colours of the ops in the drawings (the op names are the spaces').
NB201_COLOURS = {nb201_space.NONE: "#bbbbbb", nb201_space.SKIP_CONNECT: "#6b6b6b", nb201_space.NOR_CONV_1X1: "#2ca02c",
                 nb201_space.NOR_CONV_3X3: "#1f77b4", nb201_space.AVG_POOL_3X3: "#ff7f0e"}
NB101_COLOURS = {nb101_space.INPUT: "#555555", nb101_space.OUTPUT: "#555555", nb101_space.CONV3X3: "#1f77b4",
                 nb101_space.CONV1X1: "#2ca02c", nb101_space.MAXPOOL3X3: "#ff7f0e"}
SPLIT_STYLES = {"train_acc": ("#7f7f7f", "2,3"), "valid_acc": ("#1f77b4", ""), "test_acc": ("#d62728", "6,3"),
                "ori_test_acc": ("#9467bd", "1,2")}


def fmt(value) -> str:
    """A value for a table cell: floats to 6 significant digits, None as empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.6g}" if abs(value) < 1e7 else f"{value:.1f}"
    return str(value)


def table(columns, rows, headers=None) -> Markup:
    """An HTML table of dict rows (Datasette's table style)."""
    headers = headers or {}
    head = "".join(f"<th>{escape(headers.get(c, c))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c)
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            attribute = ' class="num"' if numeric else ""
            cells.append(f"<td{attribute}>{escape(fmt(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return Markup(f'<table class="rows-and-columns nb-table"><thead><tr>{head}</tr></thead>'
                  f'<tbody>{"".join(body)}</tbody></table>')


def _arrow_defs(ident: str) -> str:
    return (f'<defs><marker id="{ident}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#444"/></marker></defs>')


def nb201_svg(ops) -> Markup:
    """The NB-201 cell: 4 nodes in a row, each edge i->j an arc labelled with its op (``none`` dashed)."""
    ops = nb201_space.ops_of(tuple(ops))
    width, height, y = 620, 250, 125
    xs = [60 + i * 166 for i in range(nb201_space.NUM_NODES)]
    parts = [f'<svg class="nb-cell" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="NB-201 cell {escape(nb201_space.arch_str(ops))}">',
             _arrow_defs("nb201-arrow")]
    bends = {1: 0, 2: -78, 3: 105}  # span of the edge -> arc height (above for 2, below for 3)
    for (i, j), op in zip(nb201_space.EDGES, ops):
        x1, x2 = xs[i] + 22, xs[j] - 22
        bend = bends[j - i]
        mid_x, mid_y = (x1 + x2) / 2, y + bend
        colour = NB201_COLOURS[op]
        dash = ' stroke-dasharray="5,4"' if op == nb201_space.NONE else ""
        parts.append(f'<path class="edge" data-edge="{i}-{j}" data-op="{escape(op)}" d="M {x1} {y} Q {mid_x} '
                     f'{y + 2 * bend} {x2} {y}" fill="none" stroke="{colour}" stroke-width="2.5"{dash} '
                     'marker-end="url(#nb201-arrow)"/>')
        label_y = mid_y - 6 if bend <= 0 else mid_y + 14
        parts.append(f'<text x="{mid_x}" y="{label_y}" text-anchor="middle" font-size="12" fill="{colour}">'
                     f'{escape(op)}</text>')
    for i, x in enumerate(xs):
        parts.append(f'<circle class="node" cx="{x}" cy="{y}" r="20" fill="#fff" stroke="#333" stroke-width="2"/>'
                     f'<text x="{x}" y="{y + 5}" text-anchor="middle" font-size="14">{i}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def nb101_svg(matrix, ops) -> Markup:
    """The NB-101 cell: vertices left to right in their (topological) order, edges as arcs above the row."""
    size = len(ops)
    step, box_w, box_h = 118, 96, 34
    spans = [j - i for i in range(size) for j in range(i + 1, size) if matrix[i][j]]
    top = 34 + 26 * max([s - 1 for s in spans] + [0])
    width, height = 40 + step * (size - 1) + box_w, top + box_h + 30
    y = top
    xs = [20 + step * k + box_w / 2 for k in range(size)]
    parts = [f'<svg class="nb-cell" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="NB-101 cell, {size} vertices">',
             _arrow_defs("nb101-arrow")]
    for i in range(size):
        for j in range(i + 1, size):
            if not matrix[i][j]:
                continue
            if j == i + 1:
                parts.append(f'<path class="edge" data-edge="{i}-{j}" d="M {xs[i] + box_w / 2} {y + box_h / 2} L '
                             f'{xs[j] - box_w / 2} {y + box_h / 2}" stroke="#444" stroke-width="2" fill="none" '
                             'marker-end="url(#nb101-arrow)"/>')
            else:
                lift = 26 * (j - i - 1) + 14
                parts.append(f'<path class="edge" data-edge="{i}-{j}" d="M {xs[i]} {y} C {xs[i]} {y - lift} '
                             f'{xs[j]} {y - lift} {xs[j]} {y}" stroke="#444" stroke-width="2" fill="none" '
                             'marker-end="url(#nb101-arrow)"/>')
    for k, op in enumerate(ops):
        colour = NB101_COLOURS.get(op, "#555555")
        parts.append(f'<rect class="node" data-op="{escape(op)}" x="{xs[k] - box_w / 2}" y="{y}" width="{box_w}" '
                     f'height="{box_h}" rx="6" fill="#fff" stroke="{colour}" stroke-width="2.5"/>'
                     f'<text x="{xs[k]}" y="{y + 22}" text-anchor="middle" font-size="12.5" fill="{colour}">'
                     f'{escape(op)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _ticks(low: float, high: float, count: int = 5) -> list:
    if high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw), default=raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _axes(parts: list, box: tuple, x_range: tuple, y_range: tuple, x_label: str, y_label: str, height: int):
    """Frame, grid lines, tick labels and axis labels of a chart into ``parts``; returns the ``(sx, sy)`` scales
    from data to SVG coordinates. ``box``: ``(left, top, plot width, plot height)``."""
    left, top, plot_w, plot_h = box
    (x_low, x_high), (y_low, y_high) = x_range, y_range

    def sx(x):
        return left + (x - x_low) / ((x_high - x_low) or 1) * plot_w

    def sy(y):
        return top + plot_h - (y - y_low) / ((y_high - y_low) or 1) * plot_h

    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>')
    for tick in _ticks(y_low, y_high):
        parts.append(f'<line x1="{left - 4}" x2="{left + plot_w}" y1="{sy(tick):.1f}" y2="{sy(tick):.1f}" '
                     f'stroke="#eee"/><text x="{left - 6}" y="{sy(tick) + 4:.1f}" font-size="10" '
                     f'text-anchor="end">{fmt(round(tick, 6))}</text>')
    for tick in _ticks(x_low, x_high):
        parts.append(f'<text x="{sx(tick):.1f}" y="{top + plot_h + 14}" font-size="10" text-anchor="middle">'
                     f'{fmt(round(tick, 6))}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 7}" font-size="11" text-anchor="middle">'
                 f'{escape(x_label)}</text>')
    parts.append(f'<text x="13" y="{top + plot_h / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 13 {top + plot_h / 2})">{escape(y_label)}</text>')
    return sx, sy


def line_chart(series, title: str, x_label: str = "epoch", y_label: str = "accuracy (%)",
               width: int = 380, height: int = 240) -> Markup:
    """An SVG line chart. ``series``: ``[(label, colour, dash, [[x, y], ...]), ...]``; points are marked where a
    series has fewer than 12."""
    points = [(x, y) for *_, data in series for x, y in data if x is not None and y is not None]
    left, right, top, bottom = 46, 12, 24, 36
    parts = [f'<svg class="nb-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<text x="{left}" y="15" font-size="12" font-weight="bold">{escape(title)}</text>']
    if not points:
        parts.append(f'<text x="{left}" y="{height / 2}" font-size="12">no per-epoch values</text></svg>')
        return Markup("".join(parts))
    x_low, x_high = 0.0, max(x for x, _ in points)
    y_low, y_high = min(y for _, y in points), max(y for _, y in points)
    if y_high - y_low < 1e-9:
        y_low, y_high = y_low - 1, y_high + 1
    pad = (y_high - y_low) * 0.05
    y_low, y_high = y_low - pad, y_high + pad
    plot_w, plot_h = width - left - right, height - top - bottom
    sx, sy = _axes(parts, (left, top, plot_w, plot_h), (x_low, x_high), (y_low, y_high), x_label, y_label, height)
    drawn = [entry for entry in series if any(x is not None and y is not None for x, y in entry[3])]
    legend_y = top + plot_h - 13 * len(drawn) + 6  # lower right: learning curves rise away from it
    for label, colour, dash, data in series:
        data = [(x, y) for x, y in data if x is not None and y is not None]
        if not data:
            continue
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        path = " ".join(f"{'M' if i == 0 else 'L'} {sx(x):.1f} {sy(y):.1f}" for i, (x, y) in enumerate(data))
        parts.append(f'<path class="series" data-series="{escape(label)}" d="{path}" fill="none" stroke="{colour}" '
                     f'stroke-width="1.8"{dash_attr}/>')
        if len(data) < 12:
            parts.extend(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.8" fill="{colour}"/>' for x, y in data)
        parts.append(f'<line x1="{left + plot_w - 96}" x2="{left + plot_w - 74}" y1="{legend_y - 4}" '
                     f'y2="{legend_y - 4}" stroke="{colour}" stroke-width="2"{dash_attr}/>'
                     f'<text x="{left + plot_w - 70}" y="{legend_y}" font-size="10">{escape(label)}</text>')
        legend_y += 13
    parts.append("</svg>")
    return Markup("".join(parts))


#: Most background points drawn in a scatter chart (every k-th of a larger set): the front is always drawn whole.
MAX_SCATTER_POINTS = 4000


def scatter_chart(points, front, title: str, x_label: str, y_label: str, width: int = 640,
                  height: int = 400) -> Markup:
    """An SVG scatter of ``points`` ``[(x, y)]`` with the Pareto ``front`` ``[(x, y)]`` as a staircase (lowest x
    first)."""
    step = max(1, math.ceil(len(points) / MAX_SCATTER_POINTS))
    drawn = points[::step]
    every = [(x, y) for x, y in list(points) + list(front) if x is not None and y is not None]
    left, right, top, bottom = 56, 16, 28, 40
    parts = [f'<svg class="nb-chart nb-scatter" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<text x="{left}" y="17" font-size="12" font-weight="bold">{escape(title)}</text>']
    if not every:
        parts.append(f'<text x="{left}" y="{height / 2}" font-size="12">no configs have both values</text></svg>')
        return Markup("".join(parts))
    x_low, x_high = min(x for x, _ in every), max(x for x, _ in every)
    y_low, y_high = min(y for _, y in every), max(y for _, y in every)
    x_pad, y_pad = (x_high - x_low) * 0.03 or 1, (y_high - y_low) * 0.05 or 1
    x_low, x_high, y_low, y_high = x_low - x_pad, x_high + x_pad, y_low - y_pad, y_high + y_pad
    plot_w, plot_h = width - left - right, height - top - bottom
    sx, sy = _axes(parts, (left, top, plot_w, plot_h), (x_low, x_high), (y_low, y_high), x_label, y_label, height)
    parts.extend(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="1.6" fill="#1f77b4" fill-opacity="0.35"/>'
                 for x, y in drawn if x is not None and y is not None)
    if front:
        path = [f"M {sx(front[0][0]):.1f} {sy(front[0][1]):.1f}"]
        for (_, y0), (x1, y1) in zip(front, front[1:]):
            path.append(f"H {sx(x1):.1f} V {sy(y1):.1f}")
        parts.append(f'<path class="front" d="{" ".join(path)}" fill="none" stroke="#d62728" stroke-width="1.8"/>')
        parts.extend(f'<circle class="front-point" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="#d62728"/>'
                     for x, y in front)
    parts.append("</svg>")
    caption = f"{len(points)} configs" + (f" (every {step}th drawn)" if step > 1 else "") + \
        f"; {len(front)} on the front (red)"
    return Markup("".join(parts) + f'<p class="nb-caption">{escape(caption)}</p>')


def pareto_body(served_name: str, params: dict, points, front_rows, columns, query_url: str, json_url: str,
                names: str) -> Markup:
    """The Pareto page: the form, every config as a point and the front as a staircase, the front's rows."""
    fields = "".join(f'<label>{escape(name)} <input type="text" name="{escape(name)}" size="16" '
                     f'value="{escape(value)}"></label> ' for name, value in params.items())
    cost = front_rows[0]["cost"] if front_rows else params.get("cost") or "cost"
    metric = front_rows[0]["metric"] if front_rows else params.get("metric") or "metric"
    front = [(row["cost_value"], row["metric_value"]) for row in front_rows]
    chart = scatter_chart(points, front, f"{metric} against {cost}", cost, metric)
    return Markup(f"<h1>Pareto front ({escape(served_name)})</h1>"
                  f'<form action="" method="get">{fields}<input type="submit" value="Draw"></form>'
                  f"<p>Columns: {escape(names)}. Means over runs per config; the cost is minimised and the metric "
                  "maximised (order=asc minimises it).</p>"
                  f'<div class="nb-figures"><figure>{chart}</figure></div>'
                  f"<h2>The front</h2>{table(columns, front_rows)}"
                  f'<p>As <a href="{escape(json_url)}">JSON</a>; the rows come from <a href="{escape(query_url)}">the '
                  "pareto query</a>.</p>")


def _source_label(row) -> str:
    if row.get("source_kind") is None:
        return ""
    label = f"{row['source_kind']} #{row['source_id']}"
    if row.get("source_device"):
        label += f" ({row['source_device']})"
    return label


def _curves(curves, epochs_note: str) -> Markup:
    figures = []
    for curve in curves:
        series = [(split, *SPLIT_STYLES[split], curve["series"][split]) for split in SPLIT_STYLES
                  if split in curve["series"]]
        title = f"{curve['dataset']}, {curve['num_epochs']} epochs ({curve['source_kind']})"
        caption = f"mean of {curve['runs']} run(s) {epochs_note}"
        figures.append(f'<figure class="nb-curve">{line_chart(series, title)}'
                       f"<figcaption>{escape(caption)}</figcaption></figure>")
    if not figures:
        return Markup("<p>No per-epoch values for this cell.</p>")
    return Markup('<div class="nb-figures">' + "".join(figures) + "</div>")


def _keys(items) -> Markup:
    rows = "".join(f"<tr><th>{escape(name)}</th><td><code>{escape(value)}</code></td></tr>" for name, value in items)
    return Markup(f'<table class="nb-keys">{rows}</table>')


def _links(database_url: str, cell_url: str) -> Markup:
    return Markup(f'<p>This page as <a href="{escape(cell_url)}.json">JSON</a> or its runs as '
                  f'<a href="{escape(cell_url)}.csv">CSV</a>. Back to <a href="{escape(database_url)}">the '
                  "database</a>.</p>")


def nb201_body(cell, database_url: str, cell_url) -> Markup:
    """The page of an NB-201 cell. ``cell_url(index)`` links another cell; ``cell_url(None)`` is this page's URL."""
    ops = cell["ops"]
    keys = [("index", cell["index"]), ("arch string", cell["arch_str"]),
            ("NNI dict", ", ".join(f"{k}: {v}" for k, v in cell["arch"].items())),
            ("isomorphism class", f"{cell['unique_index']} (smallest index of the class)"),
            ("input reaches output", "yes" if cell["has_path"] else "no (every path has a 'none' edge)")]
    parts = [f"<h1>NAS-Bench-201 cell {cell['index']}</h1>",
             f'<div class="nb-figures"><figure>{nb201_svg(ops)}<figcaption>Node 0 is the cell input, node 3 its '
             "output; each node sums its incoming edges. Dashed: 'none' (no connection).</figcaption></figure>"
             f"{_keys(keys)}</div>"]
    others = [i for i in cell["isomorphic"] if i != cell["index"]]
    if others:
        shown = others[:60]
        links = ", ".join(f'<a href="{escape(cell_url(i))}">{i}</a>' for i in shown)
        more = f" and {len(others) - len(shown)} more" if len(others) > len(shown) else ""
        parts.append(f"<p>Isomorphic cells (same network): {links}{more}.</p>")
    parts.append("<h2>Learning curves</h2>")
    parts.append(_curves(cell["curves"], "per epoch"))
    parts.append("<h2>Hardware costs (HW-NAS-Bench)</h2>")
    if cell["costs"]:
        metrics = [m for m in HW_NB201_METRICS if m in cell["costs"][0]]
        headers = {m: f"{m} ({HW_NB201_METRICS[m][0].split(' ')[0]})" for m in metrics}
        parts.append(table(["dataset"] + metrics, cell["costs"], headers))
    else:
        parts.append("<p>Not loaded (nasbench-db convert hw-nasbench HW-NAS-Bench-v1_0.pickle).</p>")
    parts.append(_proxies(cell["proxies"], "zc_nasbench201.json"))
    parts.append("<h2>Runs per source</h2>")
    if cell["runs"]:
        rows = [dict(run, source=_source_label(run)) for run in cell["runs"]]
        columns = ["source", "dataset", "num_epochs", "seed", "train_acc", "valid_acc", "test_acc", "ori_test_acc",
                   "train_loss", "valid_loss", "test_loss", "parameters", "flops", "latency", "training_time"]
        parts.append(table(columns, rows, {"parameters": "parameters (M)", "flops": "flops (M)",
                                           "latency": "latency (s)", "training_time": "training_time (s)"}))
        parts.append("<p>Accuracies in percent, losses mean cross-entropy; NNI's split mapping (cifar10: valid and "
                     "test are both the test set).</p>")
    else:
        parts.append("<p>No runs of this cell in the database.</p>")
    parts.append(_links(database_url, cell_url(None)))
    return Markup("".join(str(p) for p in parts))


def _proxies(proxies, file_name: str) -> Markup:
    if not proxies:
        return Markup(f"<h2>Zero-cost proxies</h2><p>Not loaded for this cell (nasbench-db convert zc "
                      f"{escape(file_name)}).</p>")
    datasets = sorted({row["dataset"] for row in proxies})
    by_proxy: dict = {}
    for row in proxies:
        by_proxy.setdefault(row["proxy"], {"proxy": row["proxy"]})[row["dataset"]] = row["score"]
    return Markup("<h2>Zero-cost proxies (NAS-Bench-Suite-Zero)</h2>"
                  + str(table(["proxy"] + datasets, list(by_proxy.values())))
                  + "<p>Scores as NASLib computed them, per dataset.</p>")


def nb101_body(cell, database_url: str, cell_url) -> Markup:
    """The page of an NB-101 cell."""
    if not cell.get("found"):
        return Markup(f"<h1>NAS-Bench-101 cell {escape(cell['hash'])}</h1><p>This cell is in the NB-101 space but "
                      "not in this database (the installed file may hold a subset of the cells).</p>")
    keys = [("hash", cell["hash"]), ("matrix", str(cell["matrix"])), ("ops", ", ".join(cell["ops"])),
            ("NNI dict", str(cell["arch"])), ("parameters", f"{cell['parameters']:,} (trainable, exact)")]
    parts = [f"<h1>NAS-Bench-101 cell {escape(cell['hash'])}</h1>",
             f'<div class="nb-figures"><figure>{nb101_svg(cell["matrix"], cell["ops"])}<figcaption>Vertices in '
             "order (the matrix is upper triangular); arcs are edges i->j skipping vertices.</figcaption></figure>"
             f"{_keys(keys)}</div>", "<h2>Learning curves</h2>",
             _curves(cell["curves"], "at the halfway and final evaluations"),
             _proxies(cell["proxies"], "zc_nasbench101.json"), "<h2>Runs per source</h2>"]
    if cell["runs"]:
        rows = [dict(run, source=_source_label(run)) for run in cell["runs"]]
        columns = ["source", "dataset", "num_epochs", "repeat", "halfway_epoch", "halfway_valid_acc", "train_acc",
                   "valid_acc", "test_acc", "training_time", "total_time"]
        if any(run.get("total_energy") is not None for run in cell["runs"]):
            columns += ["energy", "total_energy", "total_co2eq"]
        parts.append(table(columns, rows, {"training_time": "training_time (s)", "total_time": "total_time (s)",
                                           "energy": "energy (kWh)", "total_energy": "total_energy (kWh)",
                                           "total_co2eq": "total_co2eq (g)"}))
        parts.append("<p>Accuracies in percent; halfway_epoch empty = E/2 (the released protocol).</p>")
    else:
        parts.append("<p>No runs of this cell in the database.</p>")
    parts.append(_links(database_url, cell_url(None)))
    return Markup("".join(str(p) for p in parts))


def cell_form(action: str, label: str, placeholder: str, value: str = "") -> Markup:
    return Markup(f'<form class="nb-cell-form" action="{escape(action)}" method="get"><label>{escape(label)} '
                  f'<input type="text" name="arch" size="60" placeholder="{escape(placeholder)}" '
                  f'value="{escape(value)}"></label> <input type="submit" value="Show cell"></form>')


PLACEHOLDERS = {"nb201": "11472, |nor_conv_3x3~0|+|...|, or {\"0_1\": \"conv_3x3\", ...}",
                "nb101": "hash, or {\"matrix\": [[...]], \"ops\": [...]}"}


def error_body(title: str, message: str, form: Markup | None = None) -> Markup:
    return Markup(f"<h1>{escape(title)}</h1><p class=\"message-error\">{escape(message)}</p>{form or ''}")


def correlation_body(served_name: str, params: dict, result: dict | None, query_url: str, json_url: str,
                     choices: str) -> Markup:
    """The correlation page: the form, and Kendall's tau / Spearman's rho with p-values."""
    fields = "".join(f'<label>{escape(name)} <input type="text" name="{escape(name)}" size="18" '
                     f'value="{escape(value)}"></label> ' for name, value in params.items())
    parts = [f"<h1>Rank correlation ({escape(served_name)})</h1>",
             f'<form action="" method="get">{fields}<input type="submit" value="Correlate"></form>',
             f"<p>Columns: {escape(choices)}. Means over runs per config; configs missing either value are left "
             "out.</p>"]
    if result is not None:
        parts.append(table(["x", "y", "n", "kendall_tau", "kendall_p", "spearman_rho", "spearman_p"], [result]))
        parts.append(f'<p>Kendall\'s tau-b and Spearman\'s rho from scipy.stats (two-sided p-values). As '
                     f'<a href="{escape(json_url)}">JSON</a>; Spearman in SQL: <a href="{escape(query_url)}">the '
                     "correlation query</a>.</p>")
    return Markup("".join(parts))


def index_description(served_list, prefix: str = "/") -> str:
    """HTML for the top of the index page: each benchmark, its canned queries and a cell lookup."""
    from .queries import arch_query, space_of

    items = []
    for served in served_list:
        base = prefix + quote(served.name)
        links = []
        if space_of(served) is not None:
            links += [f'<a href="{base}/top_k">top-k</a>', f'<a href="{base}/pareto">Pareto front</a>',
                      f'<a href="{base}/-/pareto">(plotted)</a>',
                      f'<a href="{base}/correlation">correlation</a>',
                      f'<a href="{base}/-/correlation">Kendall / Spearman (scipy)</a>']
        if arch_query(served) is not None:
            links.append(f'<a href="{base}/arch">a cell by any encoding</a>')
        form = ""
        if served.layout != "nni" and served.benchmark in PLACEHOLDERS:
            form = str(cell_form(f"{base}/-/cell", "Cell page:", PLACEHOLDERS[served.benchmark]))
        name = _db.DISPLAY_NAMES[served.benchmark]
        items.append(f'<li><strong><a href="{base}">{escape(name)}</a></strong> ({escape(served.name)}): '
                     f"{', '.join(links)}{form}</li>")
    return ("<p>Read-only: every table as HTML, JSON (<code>.json</code>) and CSV (<code>.csv</code>); each "
            "column's meaning and unit under the table's name.</p><ul>" + "".join(items) + "</ul>")


def urlencoded(path: str, params: dict) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return path + ("?" + query if query else "")
