"""NNI's tutorial (docs/nni_tutorial.py: NNI's cells with the imports changed) runs: on the demo databases, and on
NNI-format files in NNI's default directory ~/.cache/nni/nasbenchmark with NASBENCHMARK_DIR unset."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import HERE

TUTORIAL = HERE.parent / "docs" / "nni_tutorial.py"


def _run(env_home, extra_env=None, args=()):
    env = {k: v for k, v in os.environ.items() if k not in ("NASBENCHMARK_DIR", "NASBENCHMARK_DB_URL", "NNI_HOME",
                                                             "XDG_CACHE_HOME")}
    env.update(HOME=str(env_home), PYTHONPATH=os.pathsep.join([str(HERE.parent), env.get("PYTHONPATH", "")]))
    env.update(extra_env or {})
    result = subprocess.run([sys.executable, str(TUTORIAL), *args], env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_tutorial_on_the_demo_databases(tmp_path):
    out = _run(tmp_path / "home", args=["--demo-dir", str(tmp_path / "demo")])
    assert "building the demo databases" in out
    assert out.count("'hash': '28cfc7874f6d200472e1a9dcd8650aa0'") == 3       # the sample's Inception cell, 108 ep.
    assert out.count("'dataset': 'cifar100'") == 3                              # NB-201 tutorial cell, 3 seeds
    assert "Intermediates: 200\n" in out and "Intermediates: 12\n" in out
    assert "NDS (amoeba) count: 6" in out and "'model_family': 'vanilla'" in out
    assert "NLP (wikitext-2) count: 341" in out and "intermediates: 50" in out


def test_tutorial_on_nni_files_in_nni_default_directory(tmp_path, nb101_sample_db):
    import nni_reference
    import test_nni_compat as compat
    from nasbench_db import db as _db
    from nb201_fixture import TSS_DIR, load_simple

    nni_dir = tmp_path / "home" / ".cache" / "nni" / "nasbenchmark"
    nni_dir.mkdir(parents=True)
    nni_reference.write(str(nni_dir / _db.NNI_FILE_NAMES["nb101"]), "nb101", compat.nb101_nni_rows(nb101_sample_db))
    meta, records = load_simple(TSS_DIR)
    nni_reference.write(str(nni_dir / _db.NNI_FILE_NAMES["nb201"]), "nb201", compat.nb201_nni_rows(meta, records))
    nni_reference.write(str(nni_dir / "nlp.db"), "nlp", compat.nlp_nni_rows())
    import nds_fixture
    from nasbench_db.convert.nds import convert_nds

    sweeps = nds_fixture.build_sweeps({name: 3 for name in nds_fixture.SWEEPS}, seed=0, epochs_cifar=8,
                                      epochs_imagenet=5)
    convert_nds(nds_fixture.write_dir(tmp_path / "nds_data", sweeps), tmp_path / "ours", progress=False)
    nni_reference.write(str(nni_dir / _db.NNI_FILE_NAMES["nds"]), "nds", compat.nds_nni_rows(tmp_path / "ours" /
                                                                                            "nds.db"))
    out = _run(tmp_path / "home")
    assert "building the demo databases" not in out
    assert out.count("'dataset': 'cifar100'") == 3 and "Intermediates: 200\n" in out
    assert "NDS (amoeba) count: 6" in out and "NLP (wikitext-2) count: 341" in out
