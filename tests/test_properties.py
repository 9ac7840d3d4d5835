"""Property: every query function, given any arguments, returns results or raises ValueError with a message.

(NB-101's own property test lives in test_nb101_query.py.) Databases: the real NATS topology / size-space records
and the NDS fixture sweeps, converted once.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasbench_db import db as _db
from nasbench_db.convert.nb201 import convert_nats_sss, convert_nats_tss
from nasbench_db.query import query_nats_sss_trial_stats, query_nb201_trial_stats, query_nds_trial_stats
from conftest import DATA

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
junk = st.one_of(st.none(), st.integers(-5, 40000), st.floats(allow_nan=True), st.text(max_size=12), st.booleans(),
                 st.lists(st.integers(0, 3), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(),
                                                                          max_size=3))
reductions = st.sampled_from([None, "none", "mean", "MEAN", "max", 0])


@pytest.fixture(scope="module")
def nats_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("nats")
    convert_nats_tss(DATA / "nats" / "NATS-tss-v1_0-3ffb9-simple", directory, progress=False)
    convert_nats_sss(DATA / "nats" / "NATS-sss-v1_0-50262-simple", directory, progress=False)
    return directory


@pytest.fixture(scope="module")
def nds_dir(tmp_path_factory):
    import nds_fixture
    from nasbench_db.convert.nds import convert_nds
    from test_nds import CIFAR_EPOCHS, COUNTS, IMAGENET_EPOCHS

    directory = tmp_path_factory.mktemp("nds")
    sweeps = nds_fixture.build_sweeps(COUNTS, seed=3, epochs_cifar=CIFAR_EPOCHS, epochs_imagenet=IMAGENET_EPOCHS)
    source = nds_fixture.write_dir(tmp_path_factory.mktemp("nds_src") / "nds_data", sweeps)
    convert_nds(source, directory, progress=False)
    return directory


def _consume(function, *args, **kwargs):
    try:
        rows = list(function(*args, **kwargs))
    except ValueError as exc:
        assert str(exc)
        return None
    assert all(isinstance(r, dict) and "config" in r for r in rows)
    return rows


nb201_archs = st.one_of(junk, st.sampled_from([0, 11, 284, 15624, 15625, -1]), st.just(
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"),
    st.dictionaries(st.sampled_from(["0_1", "0_2", "0_3", "1_2", "1_3", "2_3", "x"]),
                    st.sampled_from(["none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3", "bad"]),
                    max_size=7))
datasets = st.one_of(junk, st.sampled_from(["cifar10", "CIFAR100", "cifar10-valid", "imagenet16-120", "mnist"]))


@SETTINGS
@given(arch=nb201_archs, num_epochs=st.one_of(junk, st.sampled_from([12, 200, 1, 90])), dataset=datasets,
       reduction=reductions, include_intermediates=st.one_of(st.booleans(), junk))
def test_nb201_any_input(nats_dir, monkeypatch, arch, num_epochs, dataset, reduction, include_intermediates):
    monkeypatch.setenv("NASBENCHMARK_DIR", str(nats_dir))
    _consume(query_nb201_trial_stats, arch, num_epochs, dataset, reduction, include_intermediates)


@SETTINGS
@given(arch=st.one_of(junk, st.sampled_from(["8:8:8:8:8", "64:64:64:64:64", "8:16:24:32:64", "7:8:8:8:8",
                                            "8:8:8:8", 0, 11, 32767, 32768])),
       num_epochs=st.one_of(junk, st.sampled_from([1, 12, 90, 200])), dataset=datasets, reduction=reductions,
       include_intermediates=st.one_of(st.booleans(), junk))
def test_nats_sss_any_input(nats_dir, monkeypatch, arch, num_epochs, dataset, reduction, include_intermediates):
    monkeypatch.setenv("NASBENCHMARK_DIR", str(nats_dir))
    _consume(query_nats_sss_trial_stats, arch, num_epochs, dataset, reduction, include_intermediates)


@SETTINGS
@given(family=st.one_of(junk, st.sampled_from(["nas_cell", "residual_basic", "vanilla", "x"])),
       proposer=st.one_of(junk, st.sampled_from(["darts", "resnet", "amoeba"])),
       generator=st.one_of(junk, st.sampled_from(["random", "fix_w_d", "tune_lr_wd"])),
       model_spec=junk, cell_spec=junk, dataset=st.one_of(junk, st.sampled_from(["cifar10", "imagenet"])),
       num_epochs=st.one_of(junk, st.sampled_from([None, 100, 10])), reduction=reductions,
       include_intermediates=st.one_of(st.booleans(), junk))
def test_nds_any_input(nds_dir, monkeypatch, family, proposer, generator, model_spec, cell_spec, dataset, num_epochs,
                       reduction, include_intermediates):
    monkeypatch.setenv("NASBENCHMARK_DIR", str(nds_dir))
    _consume(query_nds_trial_stats, family, proposer, generator, model_spec, cell_spec, dataset, num_epochs,
             reduction, include_intermediates)


def test_the_properties_reach_real_rows(nats_dir, nds_dir, monkeypatch):
    """The strategies above include arguments that do hit rows (so the tests exercise more than errors)."""
    monkeypatch.setenv("NASBENCHMARK_DIR", str(nats_dir))
    assert len(list(query_nb201_trial_stats(11, 200, "cifar100"))) > 0
    assert len(list(query_nats_sss_trial_stats(None, 90, "cifar10"))) > 0
    _db.close_all()
    monkeypatch.setenv("NASBENCHMARK_DIR", str(nds_dir))
    assert len(list(query_nds_trial_stats(None, None, None, None, None, None))) > 0
