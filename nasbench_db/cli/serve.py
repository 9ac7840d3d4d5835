"""``nasbench-db serve``: the installed benchmarks as a read-only web page and JSON / CSV service (Datasette)."""

from __future__ import annotations

import click

from ._common import CONTEXT_SETTINGS, cli, db_dir_option, handle_errors


@cli.command("serve", context_settings=CONTEXT_SETTINGS)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface, for a lab's shared endpoint).")
@click.option("--port", type=click.IntRange(1, 65535), default=8001, show_default=True, help="Port to listen on.")
@click.option("--sql-time-limit-ms", type=click.IntRange(min=1), default=5000, show_default=True,
              help="Stop any statement (canned query, facet, custom SQL) after this many milliseconds.")
@click.option("--no-sql", is_flag=True,
              help="Refuse custom SQL: only tables, facets, canned queries and cell pages.")
@click.option("--print-metadata", is_flag=True,
              help="Print the generated Datasette metadata (descriptions, facets, canned queries) as JSON and exit.")
@db_dir_option
@handle_errors
def serve_command(host, port, sql_time_limit_ms, no_sql, print_metadata, db_dir):
    """Browse every installed benchmark, read-only: tables and NNI views with each column's unit, facets by dataset
    / epochs / source, canned queries (top-k under bounds, Pareto fronts, correlations, a cell by any encoding),
    and a page per cell (its graph, runs per source, learning curves, costs and proxies). Every page is also JSON
    (.json) and CSV (.csv).

    Serves the SQLite files of --db-dir / $NASBENCHMARK_DIR (opened immutable: nothing can write to them). A
    database on a server ($NASBENCHMARK_DB_URL) is not served: the browser serves SQLite files only. Stop the
    service while loading data into a served file (convert hw-nasbench, zc, results, ecnas) and start it again
    after. Needs Datasette: pip install 'nasbench_db[serve]'.

    \b
    Example:
        nasbench-db serve                               # http://127.0.0.1:8001/
        nasbench-db serve --host 0.0.0.0 --port 8080 --db-dir ~/nasbench
        curl 'http://127.0.0.1:8001/nasbench201/top_k.json?dataset=cifar100&cost=edgegpu_latency&max_cost=5'
    """
    from .. import serve

    serve.require_datasette()
    served = serve.discover(db_dir)
    if print_metadata:
        import json

        click.echo(json.dumps(serve.build_metadata(served, allow_sql=not no_sql), indent=2))
        return

    def ready(ds):
        names = ", ".join(f"{s.name} ({s.benchmark})" for s in served)
        shown = f"[{host}]" if ":" in host else host
        click.echo(f"Serving {names} read-only at http://{shown}:{port}/ (Ctrl+C to stop)", err=True)

    serve.run(host, port, db_dir, sql_time_limit_ms=sql_time_limit_ms, allow_sql=not no_sql, on_ready=ready,
              served=served)
