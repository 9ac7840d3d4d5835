"""Every example of README.md and docs/*.md runs on what the README's first command installs, or says what it needs.

The convention (stated in the README): a Python block whose first line is a ``# needs ...`` comment, and a command
line carrying a ``# needs ...`` comment, name what they need beyond the bundled sample (a full file, a converted
benchmark, trained runs). Every other Python block runs here on the bundled NB-101 sample and prints something when
it prints at all; every other command that reads NAS-Bench-101 only (``query nb101``, ``sql``, ``top nb101``,
``search nb101``, ``plot ... nb101``, ``plot regret``, ``info``, ``cost``) runs on the sample and answers rows.
Commands naming another benchmark's file or database (``convert nb201 FILE``, ``query nds`` ...) need that file by
their own words and are not run.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasbench_db.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks():
    """``(file, first line number, language, lines)`` of every fenced block."""
    found = []
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        inside = None
        for number, line in enumerate(lines, 1):
            if line.startswith("```"):
                if inside is None:
                    inside = (number + 1, line[3:].strip(), [])
                else:
                    found.append((path.relative_to(ROOT).as_posix(), inside[0], inside[1], inside[2]))
                    inside = None
            elif inside is not None:
                inside[2].append(line)
    return found


def python_examples():
    return [pytest.param(lines, id=f"{name}:{start}") for name, start, lang, lines in blocks() if lang == "python"]


def command_examples():
    """One list per block of ``(where, text, argv)``: ``nasbench-db`` lines joined over ``\\`` and open quotes."""
    out = []
    for name, start, lang, lines in blocks():
        if lang not in ("bash", "sh", ""):
            continue
        commands, buffer, first = [], "", None
        for number, line in enumerate(lines, start):
            if not buffer and not line.lstrip().startswith("nasbench-db "):
                continue
            first = number if not buffer else first
            buffer = f"{buffer}\n{line}" if buffer else line
            if buffer.endswith("\\"):
                buffer = buffer[:-1]
                continue
            try:
                tokens = shlex.split(buffer, comments=True)
            except ValueError:  # a quoted SQL statement going on over the next line
                continue
            commands.append((f"{name}:{first}", buffer, tokens[1:]))
            buffer = ""
        if commands:
            out.append(commands)
    return out


#: commands that read NAS-Bench-101 only (or nothing installed), and what they must produce on the sample
SAMPLE_COMMANDS = [
    (("query", "nb101"), "rows"), (("top", "nb101"), "rows"), (("sql",), "rows"), (("search", "nb101"), "ok"),
    (("plot", "ecdf", "nb101"), "file"), (("plot", "scatter", "nb101"), "file"), (("plot", "regret"), "file"),
    (("info",), "ok"), (("cost",), "ok"),
]


def sample_kind(tokens):
    """What a command must produce on the sample, or None when it reads something else."""
    if tokens[:1] == ["sql"] and "--db" in tokens and tokens[tokens.index("--db") + 1] != "nb101":
        return None
    for prefix, kind in SAMPLE_COMMANDS:
        if tuple(tokens[:len(prefix)]) == prefix:
            return kind
    return None


def test_the_examples_are_found():
    assert len(python_examples()) >= 8
    runnable = [c for block in command_examples() for c in block if sample_kind(c[2]) and "# needs" not in c[1]]
    assert len(runnable) >= 10, runnable


def test_readme_states_the_convention():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "a Python block starting with `# needs ...`, or a command with a `# needs ...` comment" in text


@pytest.mark.parametrize("lines", python_examples())
def test_python_example_runs_on_the_sample_or_says_what_it_needs(lines, nb101_env, tmp_path):
    code = "\n".join(lines)
    if lines and lines[0].startswith("# needs "):
        assert len(lines[0]) > len("# needs ") + 10  # names what it needs
        return
    env = {k: v for k, v in os.environ.items() if k != "NASBENCHMARK_DB_URL"}
    env.update(NASBENCHMARK_DIR=str(nb101_env), MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=600)
    assert proc.returncode == 0, f"{code}\n---\n{proc.stderr[-3000:]}"
    if "print(" in code:
        assert proc.stdout.strip(), f"{code}\n--- prints nothing on the bundled sample"


@pytest.mark.parametrize("block", [pytest.param(b, id=b[0][0]) for b in command_examples()])
def test_command_examples_run_on_the_sample_or_say_what_they_need(block, nb101_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for where, text, tokens in block:
        kind = sample_kind(tokens)
        if kind is None or "# needs" in text:
            continue
        if tokens[0] == "cost":
            pytest.importorskip("torch")
        result = CliRunner().invoke(cli, tokens)
        assert result.exit_code == 0, f"{where}: {text}\n{result.output}"
        if kind == "rows":
            assert "0 rows" not in result.stderr, f"{where}: {text} answers no row on the bundled sample"
            out = result.stdout.strip()
            if out.startswith("["):
                assert json.loads(out), f"{where}: {text} answers []"
            else:
                assert len(out.splitlines()) >= (2 if "csv" in text else 3), f"{where}: {text}\n{out}"
        elif kind == "file":
            target = tokens[tokens.index("--out") + 1]
            assert Path(target).is_file() and Path(target).stat().st_size > 0, f"{where}: {text}"
