"""NAS-Bench-201 facade (``nasbench_db.compat.nas_201_api``) against the real ``nas_201_api`` 2.1 package.

The NB-201 ``.pth`` is written with ``torch.save`` from the real NATS records (tests/nb201_fixture.py: ``less`` /
``full`` = hp '12' / '200'); the original API is given the same dict (its constructor accepts one), ours the file.
"""

from __future__ import annotations

import copy
import inspect
import random

import pytest

from nasbench_db import db as _db
from nasbench_db.compat.nas_201_api import ArchResults, NASBench201API, ResultsCount

from nb201_fixture import INDICES, TSS_DIR, load_simple, nb201_dict, write_pth
from test_compat_nats import _compare, _same

nas_201_api = pytest.importorskip("nas_201_api", reason="the NAS-Bench-201 reference package (needs torch): "
                                                        "pip install nas-bench-201==2.1")

DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")


@pytest.fixture(scope="module", params=["v1_1", "v1_0"])
def apis(request, tmp_path_factory):
    meta, records = load_simple(TSS_DIR)
    data = nb201_dict(records, meta, version=request.param)
    directory = tmp_path_factory.mktemp(f"nb201_{request.param}")
    pth = write_pth(directory / f"NAS-Bench-201-{request.param}.pth", data)
    ours = NASBench201API(str(pth), verbose=False, db_dir=directory / "db")
    theirs = nas_201_api.NASBench201API(copy.deepcopy(data), verbose=False)
    yield ours, theirs
    _db.close_all()


def test_get_more_info_costs_and_simulation(apis):
    ours, theirs = apis
    for index in INDICES:
        for hp in ("12", "200", 12):
            for dataset in DATASETS + ("bogus",):
                for iepoch in (None, 0, 11, 150, 300):
                    for is_random in (False, True, 777, 111, 5):
                        _compare(lambda: ours.get_more_info(index, dataset, iepoch, hp, is_random),
                                 lambda: theirs.get_more_info(index, dataset, iepoch, hp, is_random))
                _compare(lambda: ours.get_cost_info(index, dataset, hp), lambda: theirs.get_cost_info(index, dataset,
                                                                                                    hp))
                _compare(lambda: ours.get_latency(index, dataset, hp), lambda: theirs.get_latency(index, dataset,
                                                                                                hp))
                _compare(lambda: ours.simulate_train_eval(index, dataset, hp=hp),
                         lambda: theirs.simulate_train_eval(index, dataset, hp=hp))
                assert ours.used_time == theirs.used_time
                _compare(lambda: ours.get_net_config(index, dataset), lambda: theirs.get_net_config(index, dataset))
    assert "comment" not in ours.get_more_info(0, "cifar10-valid")


def test_query_objects(apis):
    ours, theirs = apis
    for index in INDICES:
        for hp in ("12", "200"):
            mine, other = ours.query_meta_info_by_index(index, hp), theirs.query_meta_info_by_index(index, hp)
            assert isinstance(mine, ArchResults) and repr(mine) == repr(other)
            assert _same(mine.state_dict(), other.state_dict())
            # the original's ArchResults.show() fails (NameError: it calls a function of another module); ours
            # returns what that function gives
            assert mine.show() == nas_201_api.api_201.print_information(other, None, False)
            for dataset in mine.get_dataset_names():
                _compare(lambda: mine.get_compute_costs(dataset), lambda: other.get_compute_costs(dataset))
                for setname in ("train", "x-valid", "ori-test", "x-test"):
                    for iepoch in (None, 3, 12):
                        for is_random in (False, True, 777, 3):
                            _compare(lambda: mine.get_metrics(dataset, setname, iepoch, is_random),
                                     lambda: other.get_metrics(dataset, setname, iepoch, is_random))
                for seed, result in ours.query_by_index(index, dataset, hp).items():
                    original = theirs.query_by_index(index, dataset, hp)[seed]
                    assert isinstance(result, ResultsCount) and repr(result) == repr(original)
                    _compare(result.get_times, original.get_times)
                    for iepoch in (None, 2, 40, -2):
                        _compare(lambda: result.get_train(iepoch), lambda: original.get_train(iepoch))
                        _compare(lambda: result.get_eval("valid", iepoch), lambda: original.get_eval("valid", iepoch))
                        _compare(lambda: result.get_eval("ori-test", iepoch),
                                 lambda: original.get_eval("ori-test", iepoch))
        for hp in (12, "90"):
            _compare(lambda: ours.query_meta_info_by_index(index, hp), lambda: theirs.query_meta_info_by_index(index,
                                                                                                               hp))
            _compare(lambda: ours.query_by_index(index, "cifar10", hp), lambda: theirs.query_by_index(index,
                                                                                                    "cifar10", hp))


def test_find_best_statistics_strings(apis, capsys):
    ours, theirs = apis
    assert ours.evaluated_indexes == theirs.evaluated_indexes == list(INDICES)
    assert repr(ours) == repr(theirs).replace("file=None", f"file={ours.filename}")
    for dataset in DATASETS:
        for metric in ("valid", "test", "x-valid", "ori-test"):
            for hp in ("12", "200"):
                for limits in ((None, None), (100.0, None), (None, 0.2)):
                    _compare(lambda: ours.find_best(dataset, metric, *limits, hp=hp),
                             lambda: theirs.find_best(dataset, metric, *limits, hp=hp))
        _compare(lambda: ours.statistics(dataset, "200"), lambda: theirs.statistics(dataset, "200"))
    for index in INDICES:
        for hp in ("12", "200"):
            _compare(lambda: ours.query_info_str_by_arch(index, hp), lambda: theirs.query_info_str_by_arch(index, hp))
        capsys.readouterr()
        ours.show(index)
        mine = capsys.readouterr().out
        theirs.show(index)
        assert mine == capsys.readouterr().out
    for index in (0, 15624, -1, 15625):
        _compare(lambda: ours.arch(index), lambda: theirs.arch(index))
    for seed in range(3):
        _compare(ours.random, theirs.random, seed=seed)
    assert ours.str2lists(theirs[0]) == theirs.str2lists(theirs[0])
    assert (ours.str2matrix(theirs[0]) == theirs.str2matrix(theirs[0])).all()
    assert sorted(ours.avaliable_hps) == sorted(theirs.avaliable_hps)
    with pytest.raises(ValueError):
        ours.get_net_param(11, "cifar100", 777, "200")


def test_every_public_name_of_nas_201_api_exists(apis):
    from nas_201_api.api_utils import ArchResults as OriginalArchResults
    from nas_201_api.api_utils import ResultsCount as OriginalResultsCount

    def public(cls):
        return {name for name, _ in inspect.getmembers(cls) if not name.startswith("__") and name != "_abc_impl"}

    for original, facade in ((nas_201_api.NASBench201API, NASBench201API), (OriginalArchResults, ArchResults),
                             (OriginalResultsCount, ResultsCount)):
        missing = public(original) - public(facade)
        assert not missing, (original.__name__, missing)
    ours, theirs = apis
    assert {name for name in vars(theirs) if not hasattr(ours, name)} == set()
    random.seed(0)
