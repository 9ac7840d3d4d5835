"""A new user's first hour: optional packages missing, progress, tables, hints, exit codes, server errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from nasbench_db.cli import cli

from conftest import SAMPLE_TFRECORD

#: runs the CLI with torch unimportable (as on a machine where it was never installed)
WITHOUT_TORCH = "import sys; sys.modules['torch'] = None\nfrom nasbench_db.cli import cli\ncli()"


def run_without_torch(*args, env=None):
    return subprocess.run([sys.executable, "-c", WITHOUT_TORCH, *args], capture_output=True, text=True, timeout=300,
                          env=env)


@pytest.mark.parametrize("args, feature", [
    (["cost", "nb201", "--arch", "5"], "nasbench-db cost"),
    (["cost", "nb101", "--arch", '{"matrix": [[0,1],[0,0]], "ops": ["input","output"]}'], "nasbench-db cost"),
    (["train", "nb201", "--arch", "5", "--out", "unused", "--dataset", "fashion-mnist"], "nasbench-db train"),
])
def test_cost_and_train_without_torch_say_how_to_install_it(args, feature, tmp_path):
    proc = run_without_torch(*args)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == (f"Error: {feature} needs PyTorch, which is not installed: pip install torch==2.13.0 "
                           "(CPU-only wheel: pip install torch==2.13.0 --index-url "
                           "https://download.pytorch.org/whl/cpu)\n")


def test_convert_results_and_queries_need_no_torch(tmp_path, nb101_real_cells):
    import os

    from test_concurrency import write_results

    write_results(tmp_path / "r", nb101_real_cells, range(2))
    env = dict(os.environ, NASBENCHMARK_DIR=str(tmp_path / "db"))
    for args in (["convert", "nb101", "--sample"], ["convert", "results", str(tmp_path / "r")],
                 ["query", "nb101", "--hash", "28cfc7874f6d200472e1a9dcd8650aa0", "--source", "all", "--json"]):
        proc = run_without_torch(*args, env=env)
        assert proc.returncode == 0, proc.stderr


def test_nb101_progress_bar_ends_at_100_percent(tmp_path, capsys):
    from nasbench_db.convert.nb101 import convert_nb101

    convert_nb101(SAMPLE_TFRECORD, tmp_path / "db", progress=True)
    bar = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert "100%" in bar and "nb101" in bar, bar
