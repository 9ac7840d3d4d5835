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


# ----------------------------------------------------------------------------------------------------------------------
# tables, hints, exit codes


INCEPTION_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"


def test_a_query_matching_nothing_says_so_on_stderr(nb101_env):
    result = CliRunner().invoke(cli, ["query", "nb101", "--hash", INCEPTION_HASH, "--epochs", "5"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("id") and len(result.stdout.splitlines()) == 2  # header only
    assert result.stderr.startswith("0 rows: no run matches these arguments")
    result = CliRunner().invoke(cli, ["top", "nb101", "--epochs", "108", "--max-params", "1"])
    assert result.exit_code == 0 and result.stderr.startswith("0 rows: no config passes these filters")
    absent = json.dumps({"matrix": [[0, 1, 1], [0, 0, 1], [0, 0, 0]], "ops": ["input", "conv3x3-bn-relu", "output"]})
    result = CliRunner().invoke(cli, ["query", "nb101", "--arch", absent, "--epochs", "108"])
    assert result.exit_code == 0 and result.stderr.startswith("0 rows: ")
    for fmt, empty in (("--json", "[]\n"), ("--csv", None)):  # machine formats stay exactly their data
        result = CliRunner().invoke(cli, ["query", "nb101", "--arch", absent, "--epochs", "108", fmt])
        assert result.exit_code == 0 and result.stderr == ""
        assert result.stdout == empty if empty else len(result.stdout.splitlines()) == 1
    result = CliRunner().invoke(cli, ["query", "nb101", "--hash", INCEPTION_HASH, "--epochs", "108"])
    assert result.stderr == "" and len(result.stdout.splitlines()) == 2 + 3


def test_intermediates_are_summarised_in_tables(nb101_env):
    table = CliRunner().invoke(cli, ["query", "nb101", "--hash", INCEPTION_HASH, "--epochs", "108", "--intermediates"])
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[-1] == "intermediates" and len(lines) == 2 + 3
    assert all(line.endswith("2 rows, epochs 54..108 (values: --json or --csv)") for line in lines[2:])
    as_json = CliRunner().invoke(cli, ["query", "nb101", "--hash", INCEPTION_HASH, "--epochs", "108",
                                       "--intermediates", "--json"])
    assert [i["current_epoch"] for i in json.loads(as_json.stdout)[0]["intermediates"]] == [54, 108]
    as_csv = CliRunner().invoke(cli, ["query", "nb101", "--hash", INCEPTION_HASH, "--epochs", "108",
                                      "--intermediates", "--csv"])
    header = as_csv.stdout.splitlines()[0].split(",")
    assert "intermediates" in header and "valid_acc" in header and len(as_csv.stdout.splitlines()) == 4


@pytest.fixture
def nb201_db(tmp_path):
    from pathlib import Path

    from nasbench_db.convert.nb201 import convert_nats_tss

    archive = next((Path(__file__).parent / "data" / "nats").glob("NATS-tss-*-simple"))
    convert_nats_tss(archive, tmp_path / "nb201", progress=False, jobs=1)
    return tmp_path / "nb201"


def test_nb201_tables_name_the_architecture(nb201_db):
    from nasbench_db.spaces import nb201 as space

    result = CliRunner().invoke(cli, ["query", "nb201", "--arch", "11", "--epochs", "200", "--dataset", "cifar10",
                                      "--db-dir", str(nb201_db)])
    assert result.exit_code == 0, result.output
    header, _, first, *_ = result.stdout.splitlines()
    assert "arch_index" in header.split() and header.split()[-1] == "arch"
    assert first.split()[2] == "11" and first.endswith(space.arch_str(11))
    top = CliRunner().invoke(cli, ["top", "nb201", "--k", "2", "--dataset", "cifar10", "--epochs", "200",
                                   "--db-dir", str(nb201_db)])
    assert top.exit_code == 0, top.output
    header, _, first, second = top.stdout.splitlines()
    assert "arch_index" in header.split() and "arch" in header.split()
    index = int(first.split()[1])
    assert space.arch_str(index) in first
    assert json.loads(CliRunner().invoke(cli, ["top", "nb201", "--k", "1", "--dataset", "cifar10", "--epochs", "200",
                                               "--json", "--db-dir", str(nb201_db)]).stdout)[0]["config"]["arch"] \
        == space.to_nni(index)  # JSON keeps NNI's shape


def test_usage_errors_exit_2_and_errors_exit_1_as_the_readme_says(nb101_env):
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "**1** an\nerror the command found" in readme and "**2** a usage error" in readme
    usage = CliRunner().invoke(cli, ["query", "nb101", "--hash", INCEPTION_HASH, "--arch", "{}"])
    assert usage.exit_code == 2 and "Usage:" in usage.output and "Error: give --arch or --hash, not both" in usage.output
    assert CliRunner().invoke(cli, ["query", "nb101", "--no-such-option"]).exit_code == 2
    error = CliRunner().invoke(cli, ["query", "nb101", "--hash", "xyz"])
    assert error.exit_code == 1 and error.output.startswith("Error: --hash must be 32 hex characters")


# ----------------------------------------------------------------------------------------------------------------------
# PostgreSQL / database URL errors


@pytest.mark.parametrize("url, message", [
    ("postgresql://postgres@127.0.0.1:1/nowhere", "cannot reach the database server of NASBENCHMARK_DB_URL "
                                                  "(postgresql://postgres@127.0.0.1:1/nowhere): connection to server"),
    ("mysql://user@host/db", "NASBENCHMARK_DB_URL 'mysql://user@host/db': unsupported scheme 'mysql': use "
                             "postgresql://user@host/dbname"),
    ("nonsense", "unsupported scheme ''"),
    ("postgresql://user:secret@127.0.0.1:1/x", "postgresql://user:***@127.0.0.1:1/x"),
])
def test_database_url_problems_are_error_lines(url, message, monkeypatch):
    pytest.importorskip("psycopg2")
    monkeypatch.setenv("NASBENCHMARK_DB_URL", url)
    for args in (["query", "nb101", "--hash", INCEPTION_HASH], ["info"], ["top", "nb201"],
                 ["convert", "nb101", "--sample"], ["sql", "SELECT 1"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.startswith("Error: ") and message in result.output, (args, result.output)
        assert "secret" not in result.output and "Traceback" not in result.output


def test_a_benchmark_missing_from_the_server_says_how_to_convert_it(pg_url):
    result = CliRunner().invoke(cli, ["query", "nb201", "--arch", "5"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: NAS-Bench-201 / NATS-Bench topology is not in the server database")
    assert "convert it there, e.g. NASBENCHMARK_DB_URL=... nasbench-db convert nb201" in result.output
    info = CliRunner().invoke(cli, ["info"])
    assert info.exit_code == 0 and "NAS-Bench-101: not installed" in info.output


# ----------------------------------------------------------------------------------------------------------------------
# plots


def _search(tmp_path, name, *args):
    out = tmp_path / name
    result = CliRunner().invoke(cli, ["search", *args, "--runs", "3", "--budget", "3e4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_regret_of_two_benchmarks_goes_to_separate_titled_panels(nb101_env, nb201_db, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import shutil

    shutil.copy(nb201_db / "nasbench201.db", nb101_env / "nasbench201.db")
    rs101 = _search(tmp_path, "rs101.json", "nb101", "--algo", "rs", "--sampling", "uniform")
    re101 = _search(tmp_path, "re101.json", "nb101", "--algo", "re", "--sampling", "uniform")
    rs201 = _search(tmp_path, "rs201.json", "nb201", "--algo", "rs", "--dataset", "cifar10")
    import matplotlib.pyplot as plt

    from nasbench_db import plots

    figures = []
    real_save = plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, out: figures.append(fig) or str(out))
    plots.plot_regret([str(rs101), str(re101), str(rs201), str(rs201)], tmp_path / "regret.png")
    (fig,) = figures
    axes = fig.axes
    assert len(axes) == 2
    titles = [ax.get_title() for ax in axes]
    assert titles[0].startswith("NAS-Bench-101, cifar10, 108 epochs") and "NAS-Bench-201" in titles[1] and "cifar10" in titles[1]
    labels = [[text.get_text() for text in ax.get_legend().get_texts()] for ax in axes]
    assert labels[0] == ["random search (3 runs)", "regularized evolution (3 runs)"]
    assert labels[1] == ["random search (3 runs) [result 3]", "random search (3 runs) [result 4]"]  # told apart
    for ax in axes:  # no minor labels on the log axes (they overlapped)
        assert all(not t.get_text() for t in ax.xaxis.get_minorticklabels())
    plt.close(fig)
    monkeypatch.setattr(plots, "_save", real_save)
    result = CliRunner().invoke(cli, ["plot", "regret", str(rs101), str(rs201), "--out", str(tmp_path / "r.png")])
    assert result.exit_code == 0 and (tmp_path / "r.png").stat().st_size > 0


def test_nb201_plots_need_a_dataset_and_say_which_budget(nb201_db, tmp_path):
    pytest.importorskip("matplotlib")
    result = CliRunner().invoke(cli, ["plot", "ecdf", "nb201", "--out", str(tmp_path / "e.png"), "--db-dir",
                                      str(nb201_db)])
    assert result.exit_code == 1 and not (tmp_path / "e.png").exists()
    assert result.output.startswith("Error: a nb201 plot needs a dataset (pooling them would mix different tasks)")
    assert "cifar10-valid, cifar10, cifar100, imagenet16-120" in result.output
    result = CliRunner().invoke(cli, ["plot", "ecdf", "nb201", "--dataset", "cifar10", "--out",
                                      str(tmp_path / "e.png"), "--db-dir", str(nb201_db)])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("no epochs given: plotting the 200-epoch budget of nb201")
    assert (tmp_path / "e.png").stat().st_size > 0
    from nasbench_db.errors import InvalidArgument
    from nasbench_db.plots import plot_scatter

    with pytest.raises(InvalidArgument, match="needs a dataset"):
        plot_scatter("nb201", tmp_path / "s.png", db_dir=nb201_db)


def test_scatter_markers_are_readable_and_log_labels_do_not_overlap(nb101_env, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from nasbench_db import plots

    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, out: figures.append(fig) or str(out))
    plots.plot_scatter("nb101", tmp_path / "s.png", "parameters", "test_acc", epochs=108)
    ax = figures[0].axes[0]
    (points,) = ax.collections
    assert points.get_sizes()[0] >= 30  # 31 cells: large markers (was 6, about 2 px)
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.xaxis.get_majorticklabels() if t.get_text()]
    assert all(not t.get_text() for t in ax.xaxis.get_minorticklabels())
    assert "2" in labels and "10" in labels  # 1-2-5 steps written plainly over a short range


def test_pareto_plots_share_the_readable_markers_and_the_dataset_rule(nb101_env, nb201_db, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from nasbench_db import plots

    result = CliRunner().invoke(cli, ["plot", "pareto", "nb201", "--cost", "flops", "--out", str(tmp_path / "p.png"),
                                      "--db-dir", str(nb201_db)])
    assert result.exit_code == 1 and result.output.startswith("Error: a nb201 plot needs a dataset")
    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, out: figures.append(fig) or str(out))
    plots.plot_pareto("nb101", tmp_path / "p.png", "parameters", "valid_acc")  # epochs: the longest, 108
    ax = figures[0].axes[0]
    cloud, front = ax.collections
    assert cloud.get_sizes()[0] >= 30 and front.get_sizes()[0] >= 30  # 31 cells: large markers (were 6 and 18)
    assert ax.get_xscale() == "log" and all(not t.get_text() for t in ax.xaxis.get_minorticklabels())
    assert "108 epochs" in ax.get_title()
