"""NNI's tutorial "Use NAS Benchmarks as Datasets", run on nasbench_db.

This is microsoft/nni's ``docs/source/tutorials/nasbench_as_dataset.py``, cell for cell, with one change: the
imports come from ``nasbench_db.query`` instead of ``nni.nas.benchmark``. Every call and argument is NNI's; a
NAS-Bench-NLP cell is added at the end (NNI's tutorial has none; NNI's API has ``query_nlp_trial_stats``).

Data. With ``NASBENCHMARK_DIR`` set (or NNI's files in ``~/.cache/nni/nasbenchmark``, which nasbench_db also
searches), the calls run on the full benchmarks, NNI's prebuilt files or ours. Without it, run from a source checkout,
the script builds a small demo directory first, and says so:

* NAS-Bench-101: the bundled real sample (31 cells). The tutorial's cell is not among them, so the demo also queries
  the sample's Inception cell (hash 28cfc787...), marked as an addition;
* NAS-Bench-201: the three real NATS-Bench topology records of ``tests/data/nats`` (indices 0, 11 and 284; the
  tutorial's cell is index 0, so its calls answer as on the full file);
* NDS: synthetic sweeps in the original format (``tests/nds_fixture.py``): the tutorial's specific ``model_spec`` /
  ``cell_spec`` dicts are not in them (those cells print nothing), the wildcard calls answer;
* NAS-Bench-NLP: the real WikiText-2 logs of ``tests/data/nas-bench-nlp``.

Run: ``python docs/nni_tutorial.py`` (``--demo-dir DIR`` builds the demo databases there and keeps them; by
default they go to a temporary directory removed at exit). ``tests/test_nni_tutorial.py`` runs it both ways: on the
demo databases, and on NNI-format files placed in NNI's default directory with ``NASBENCHMARK_DIR`` unset.
"""

# %%
# Prerequisites
# -------------
# NNI's tutorial lists ``~/.cache/nni/nasbenchmark``; nasbench_db reads ``$NASBENCHMARK_DIR`` (then its default and
# NNI's directories). The demo set-up below runs only when nothing is installed.

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent


def prepare_demo(directory: Path) -> None:
    """Convert the bundled sample and the test data of a source checkout into ``directory``."""
    sys.path.insert(0, str(CHECKOUT / "tests"))
    import nds_fixture
    from nasbench_db.convert.nb101 import convert_nb101
    from nasbench_db.convert.nb201 import convert_nats_tss
    from nasbench_db.convert.nds import convert_nds
    from nasbench_db.convert.nlp import convert_nlp

    data = CHECKOUT / "tests" / "data"
    convert_nb101(CHECKOUT / "nasbench_db" / "data" / "nb101_sample.tfrecord", directory, progress=False)
    convert_nats_tss(data / "nats" / "NATS-tss-v1_0-3ffb9-simple", directory, progress=False)
    counts = {name: 3 for name in nds_fixture.SWEEPS}
    sweeps = nds_fixture.build_sweeps(counts, seed=0, epochs_cifar=8, epochs_imagenet=5)
    convert_nds(nds_fixture.write_dir(directory / "nds_src" / "nds_data", sweeps), directory, progress=False)
    convert_nlp(data / "nas-bench-nlp" / "train_logs_wikitext-2_logs.zip", directory, progress=False)


parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--demo-dir", help="where to build the demo databases (default: a temporary directory)")
options = parser.parse_args()
DEMO = False
if not os.environ.get("NASBENCHMARK_DIR") and not os.environ.get("NASBENCHMARK_DB_URL"):
    from nasbench_db import db as _db

    if not any((d / name).is_file() for d in _db.search_dirs() for name in _db.FILE_NAMES.values()):
        demo = Path(options.demo_dir or tempfile.mkdtemp(prefix="nasbench-demo-"))
        demo.mkdir(parents=True, exist_ok=True)
        if not options.demo_dir:
            import atexit
            import shutil

            atexit.register(shutil.rmtree, demo, True)
        print(f"No benchmark installed: building the demo databases in {demo} (sample and test data, see the "
              "docstring)")
        prepare_demo(demo)
        os.environ["NASBENCHMARK_DIR"] = str(demo)
        DEMO = True

from nasbench_db import db as _db  # noqa: E402

for directory in _db.search_dirs():  # NNI's tutorial: os.listdir(os.path.expanduser('~/.cache/nni/nasbenchmark'))
    if directory.is_dir():
        print(directory, sorted(p for p in os.listdir(directory) if p.endswith(".db")))

# %%
import pprint

from nasbench_db.query import query_nb101_trial_stats   # was: from nni.nas.benchmark.nasbench101 import ...
from nasbench_db.query import query_nb201_trial_stats   # was: from nni.nas.benchmark.nasbench201 import ...
from nasbench_db.query import query_nds_trial_stats     # was: from nni.nas.benchmark.nds import ...
from nasbench_db.query import query_nlp_trial_stats     # was: from nni.nas.benchmark.nlp import ...

# %%
# NAS-Bench-101
# -------------

arch = {
    'op1': 'conv3x3-bn-relu',
    'op2': 'maxpool3x3',
    'op3': 'conv3x3-bn-relu',
    'op4': 'conv3x3-bn-relu',
    'op5': 'conv1x1-bn-relu',
    'input1': [0],
    'input2': [1],
    'input3': [2],
    'input4': [0],
    'input5': [0, 3, 4],
    'input6': [2, 5]
}
for t in query_nb101_trial_stats(arch, 108, include_intermediates=True):
    pprint.pprint(t)

if DEMO:  # addition: the sample does not hold the tutorial's cell; its Inception cell answers the same way
    inception = {'op1': 'conv1x1-bn-relu', 'op2': 'conv3x3-bn-relu', 'op3': 'conv3x3-bn-relu',
                 'op4': 'conv3x3-bn-relu', 'op5': 'maxpool3x3', 'input1': [0], 'input2': [0], 'input3': [0],
                 'input4': [3], 'input5': [0], 'input6': [1, 2, 4, 5]}
    for t in query_nb101_trial_stats(inception, 108, include_intermediates=True):
        pprint.pprint(t)

# %%
# NAS-Bench-201
# -------------

arch = {
    '0_1': 'avg_pool_3x3',
    '0_2': 'conv_1x1',
    '1_2': 'skip_connect',
    '0_3': 'conv_1x1',
    '1_3': 'skip_connect',
    '2_3': 'skip_connect'
}
for t in query_nb201_trial_stats(arch, 200, 'cifar100'):
    pprint.pprint(t)

# %%
# Intermediate results are also available.

for t in query_nb201_trial_stats(arch, None, 'imagenet16-120', include_intermediates=True):
    print(t['config'])
    print('Intermediates:', len(t['intermediates']))

# %%
# NDS
# ---

model_spec = {
    'bot_muls': [0.0, 0.25, 0.25, 0.25],
    'ds': [1, 16, 1, 4],
    'num_gs': [1, 2, 1, 2],
    'ss': [1, 1, 2, 2],
    'ws': [16, 64, 128, 16]
}

# %%
# Use none as a wildcard.
for t in query_nds_trial_stats('residual_bottleneck', None, None, model_spec, None, 'cifar10'):
    pprint.pprint(t)

# %%
model_spec = {
    'bot_muls': [0.0, 0.25, 0.25, 0.25],
    'ds': [1, 16, 1, 4],
    'num_gs': [1, 2, 1, 2],
    'ss': [1, 1, 2, 2],
    'ws': [16, 64, 128, 16]
}
for t in query_nds_trial_stats('residual_bottleneck', None, None, model_spec, None, 'cifar10', include_intermediates=True):
    pprint.pprint(t['intermediates'][:10])

# %%
model_spec = {'ds': [1, 12, 12, 12], 'ss': [1, 1, 2, 2], 'ws': [16, 24, 24, 40]}
for t in query_nds_trial_stats('residual_basic', 'resnet', 'random', model_spec, {}, 'cifar10'):
    pprint.pprint(t)

# %%
# Get the first one.
pprint.pprint(next(query_nds_trial_stats('vanilla', None, None, None, None, None)))

# %%
# Count number.
model_spec = {'num_nodes_normal': 5, 'num_nodes_reduce': 5, 'depth': 12, 'width': 32, 'aux': False, 'drop_prob': 0.0}
cell_spec = {
    'normal_0_op_x': 'avg_pool_3x3',
    'normal_0_input_x': 0,
    'normal_0_op_y': 'conv_7x1_1x7',
    'normal_0_input_y': 1,
    'normal_1_op_x': 'sep_conv_3x3',
    'normal_1_input_x': 2,
    'normal_1_op_y': 'sep_conv_5x5',
    'normal_1_input_y': 0,
    'normal_2_op_x': 'dil_sep_conv_3x3',
    'normal_2_input_x': 2,
    'normal_2_op_y': 'dil_sep_conv_3x3',
    'normal_2_input_y': 2,
    'normal_3_op_x': 'skip_connect',
    'normal_3_input_x': 4,
    'normal_3_op_y': 'dil_sep_conv_3x3',
    'normal_3_input_y': 4,
    'normal_4_op_x': 'conv_7x1_1x7',
    'normal_4_input_x': 2,
    'normal_4_op_y': 'sep_conv_3x3',
    'normal_4_input_y': 4,
    'normal_concat': [3, 5, 6],
    'reduce_0_op_x': 'avg_pool_3x3',
    'reduce_0_input_x': 0,
    'reduce_0_op_y': 'dil_sep_conv_3x3',
    'reduce_0_input_y': 1,
    'reduce_1_op_x': 'sep_conv_3x3',
    'reduce_1_input_x': 0,
    'reduce_1_op_y': 'sep_conv_3x3',
    'reduce_1_input_y': 0,
    'reduce_2_op_x': 'skip_connect',
    'reduce_2_input_x': 2,
    'reduce_2_op_y': 'sep_conv_7x7',
    'reduce_2_input_y': 0,
    'reduce_3_op_x': 'conv_7x1_1x7',
    'reduce_3_input_x': 4,
    'reduce_3_op_y': 'skip_connect',
    'reduce_3_input_y': 4,
    'reduce_4_op_x': 'conv_7x1_1x7',
    'reduce_4_input_x': 0,
    'reduce_4_op_y': 'conv_7x1_1x7',
    'reduce_4_input_y': 5,
    'reduce_concat': [3, 6]
}

for t in query_nds_trial_stats('nas_cell', None, None, model_spec, cell_spec, 'cifar10'):
    assert t['config']['model_spec'] == model_spec
    assert t['config']['cell_spec'] == cell_spec
    pprint.pprint(t)

# %%
# Count number.
print('NDS (amoeba) count:', len(list(query_nds_trial_stats(None, 'amoeba', None, None, None, None, None))))

# %%
# NAS-Bench-NLP (not in NNI's tutorial; NNI's query_nlp_trial_stats, same arguments)
# -------------
# A recipe as NAS-Bench-NLP writes it (the benchmark's first WikiText-2 log), or NNI's flattened form.

arch = {
    'f_input_0': 'x', 'f_input_1': 'h_prev_0', 'f_op': 'linear',
    'h_new_0_input_0': 'f', 'h_new_0_op': 'activation_tanh'
}
for t in query_nlp_trial_stats(arch, 'wikitext-2', include_intermediates=True):
    print(t['config']['dataset'], t['val_loss'], 'intermediates:', len(t['intermediates']))
print('NLP (wikitext-2) count:', len(list(query_nlp_trial_stats(None, 'wikitext-2'))))
