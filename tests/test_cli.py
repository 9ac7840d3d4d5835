"""The command line through click's CliRunner: documentation of every command, NB-101 commands, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from nasbench_db.cli import cli

INCEPTION_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"


def all_commands(group=cli, prefix=()):
    for name, command in sorted(group.commands.items()):
        path = prefix + (name,)
        yield path, command
        if isinstance(command, click.Group):
            yield from all_commands(command, path)


COMMANDS = list(all_commands())


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_documented_with_an_example(path, command):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output, f"`nasbench-db {' '.join(path)} --help` shows no example"
    assert command.help and len(command.help.strip()) > 20


def test_interface_commands_exist():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"convert", "convert nb101", "query", "query nb101", "sql", "info"} <= names


def test_python_dash_m_and_version():
    out = subprocess.run([sys.executable, "-m", "nasbench_db", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "convert" in out.stdout
    assert CliRunner().invoke(cli, ["--version"]).output.startswith("nasbench-db, version")


def test_convert_sample_then_query(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["convert", "nb101", "--sample", "--db-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "converted 102 records" in result.output and "31 cells" in result.output
    result = runner.invoke(cli, ["query", "nb101", "--hash", INCEPTION_HASH, "--epochs", "108", "--db-dir",
                                 str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["id", "config.hash", "config.num_epochs"]
    assert len(lines) == 5 and "93.119" in lines[2]
    result = runner.invoke(cli, ["query", "nb101", "--hash", INCEPTION_HASH, "--reduction", "mean", "--format",
                                 "json", "--intermediates", "--db-dir", str(tmp_path)])
    data = json.loads(result.output)
    assert len(data) == 4 and data[-1]["config"]["num_epochs"] == 108
    assert data[-1]["test_acc"] == pytest.approx(93.0856, abs=1e-4)
    assert [i["current_epoch"] for i in data[-1]["intermediates"]] == [54, 108]
    arch = json.dumps({"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"]})
    result = runner.invoke(cli, ["query", "nb101", "--arch", arch, "--format", "csv", "--db-dir", str(tmp_path)])
    assert result.exit_code == 0 and result.stdout == result.output  # CSV: the header only, no hint
    assert result.stdout.startswith("id,config.hash") and len(result.stdout.splitlines()) == 1
    result = runner.invoke(cli, ["query", "nb101", "--arch", arch, "--db-dir", str(tmp_path)])
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2  # table: header and rule
    assert result.stderr.startswith("0 rows: no run matches these arguments")


def test_query_errors(nb101_env):
    runner = CliRunner()
    bad = json.dumps({"matrix": [[0, 1, 1], [0, 0, 1], [0, 0, 0]], "ops": ["input", "conv5x5", "output"]})
    result = runner.invoke(cli, ["query", "nb101", "--arch", bad])
    assert result.exit_code == 1
    assert result.output.startswith("Error: unsupported op 'conv5x5' at vertex 1 (available ops:")
    result = runner.invoke(cli, ["query", "nb101", "--arch", "{not json"])
    assert result.exit_code == 1 and result.output.startswith("Error: --arch is not valid JSON")
    result = runner.invoke(cli, ["query", "nb101", "--hash", "xyz"])
    assert result.exit_code == 1 and "--hash must be 32 hex characters" in result.output
    result = runner.invoke(cli, ["query", "nb101", "--hash", "0" * 32])
    assert result.exit_code == 1 and "no cell with hash" in result.output


def test_missing_database_is_an_error_not_a_traceback(tmp_path):
    result = CliRunner().invoke(cli, ["query", "nb101", "--hash", INCEPTION_HASH, "--db-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: NAS-Bench-101 is not installed")
    assert "Traceback" not in result.output


def test_convert_errors(tmp_path):
    runner = CliRunner()
    bad = tmp_path / "bad.tfrecord"
    bad.write_bytes(b"\x00" * 40)
    result = runner.invoke(cli, ["convert", "nb101", str(bad), "--db-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {bad}, record 0 (byte offset 0): length checksum mismatch")
    result = runner.invoke(cli, ["convert", "nb101", str(tmp_path / "nope.tfrecord")])
    assert result.exit_code == 1 and "no such file" in result.output
    result = runner.invoke(cli, ["convert", "nb101"])
    assert result.exit_code == 2 and "give either FILE or --sample" in result.output


def test_output_format_shortcuts(nb101_env):
    runner = CliRunner()
    statement = "SELECT num_epochs, COUNT(*) AS n FROM nb101trialconfig GROUP BY 1 ORDER BY 1"
    for shortcut, long in (("--json", "json"), ("--csv", "csv"), ("--table", "table")):
        short_form = runner.invoke(cli, ["sql", statement, shortcut])
        long_form = runner.invoke(cli, ["sql", statement, "--format", long])
        assert short_form.exit_code == long_form.exit_code == 0 and short_form.output == long_form.output
    assert runner.invoke(cli, ["sql", statement]).output == runner.invoke(cli, ["sql", statement, "--table"]).output
    assert runner.invoke(cli, ["sql", statement, "--csv"]).output.splitlines()[:2] == ["num_epochs,n", "4,1"]
    assert runner.invoke(cli, ["sql", statement, "--json", "--format", "json"]).exit_code == 0  # the same choice
    result = runner.invoke(cli, ["sql", statement, "--json", "--csv"])
    assert result.exit_code == 2 and "choose one output format: got --json and --csv" in result.output
    result = runner.invoke(cli, ["query", "nb101", "--hash", INCEPTION_HASH, "--epochs", "108", "--json"])
    assert result.exit_code == 0 and len(json.loads(result.output)) == 3


def test_sql_is_read_only(nb101_env):
    runner = CliRunner()
    result = runner.invoke(cli, ["sql", "SELECT num_epochs, COUNT(*) AS n FROM nb101trialconfig GROUP BY 1 "
                                        "ORDER BY 1", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"num_epochs": 4, "n": 1}, {"num_epochs": 12, "n": 1},
                                         {"num_epochs": 36, "n": 1}, {"num_epochs": 108, "n": 31}]
    before = (nb101_env / "nasbench101.db").read_bytes()
    for statement in ("DELETE FROM nb101_arch", "DROP TABLE nb101_trial", "CREATE TABLE x (a)",
                      "UPDATE nb101_trial SET test_acc = 0"):
        result = runner.invoke(cli, ["sql", statement])
        assert result.exit_code == 1, statement
        assert result.output.startswith("Error: nasbench-db sql is read-only"), result.output
    assert (nb101_env / "nasbench101.db").read_bytes() == before
    result = runner.invoke(cli, ["sql", "SELEKT 1"])
    assert result.exit_code == 1 and result.output.startswith("Error: SQL error:")


def test_info(nb101_env):
    result = CliRunner().invoke(cli, ["info"])
    assert result.exit_code == 0
    assert "NAS-Bench-101: " in result.output and "nb101_trial 102" in result.output
    assert "not installed" in result.output  # the other benchmarks, with how to install them
    data = json.loads(CliRunner().invoke(cli, ["info", "--json"]).output)
    nb101 = next(d for d in data if d["benchmark"] == "nb101")
    assert nb101["installed"] and nb101["sources"][0]["row_counts"]["nb101_trial"] == 102


def test_info_summarises_trained_results_per_device(nb101_env, tmp_path, nb101_real_cells):
    from nasbench_db.convert.results import convert_results
    from test_concurrency import write_results

    write_results(tmp_path / "results", nb101_real_cells, range(6))
    convert_results(tmp_path / "results")
    result = CliRunner().invoke(cli, ["info"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "trained on" in line]
    assert len(lines) == 3 and all("2 results" in line for line in lines)  # devices test-cpu-0/1/2
