"""NNI's op-name constants (``nni.nas.benchmark.{nasbench101,nasbench201,nds}.constants``), under NNI's names.

``from nni.nas.benchmark.nasbench101 import CONV3X3_BN_RELU`` becomes ``from nasbench_db.query import
CONV3X3_BN_RELU``. The values come from the search-space modules (their one home); NB-201's are NNI's renamed ops
(``conv_3x3``, not the original ``nor_conv_3x3``). The names NB-201 and NDS share (``NONE``, ``SKIP_CONNECT``,
``CONV_1X1``, ``CONV_3X3``, ``AVG_POOL_3X3``) have the same value in both.
"""

from ..spaces import nb101 as _nb101
from ..spaces import nb201 as _nb201
from ..spaces import nds as _nds

# NAS-Bench-101 (nni.nas.benchmark.nasbench101)
INPUT = _nb101.INPUT
OUTPUT = _nb101.OUTPUT
CONV3X3_BN_RELU = _nb101.CONV3X3
CONV1X1_BN_RELU = _nb101.CONV1X1
MAXPOOL3X3 = _nb101.MAXPOOL3X3
LABEL2ID = dict(_nb101.LABEL_OF_OP)

# NAS-Bench-201 (nni.nas.benchmark.nasbench201): NNI's op names
NONE, SKIP_CONNECT, CONV_1X1, CONV_3X3, AVG_POOL_3X3 = _nb201.NNI_OPS
PRIMITIVES = list(_nb201.NNI_OPS)

# NDS (nni.nas.benchmark.nds): every op of the NAS cells
(_NONE, _SKIP, AVG_POOL_3X3, MAX_POOL_3X3, MAX_POOL_5X5, MAX_POOL_7X7, CONV_1X1, CONV_3X3, CONV_3X1_1X3, CONV_7X1_1X7,
 DIL_CONV_3X3, DIL_CONV_5X5, SEP_CONV_3X3, SEP_CONV_5X5, SEP_CONV_7X7, DIL_SEP_CONV_3X3) = _nds.OPS
assert (_NONE, _SKIP) == (NONE, SKIP_CONNECT)

__all__ = ["INPUT", "OUTPUT", "CONV3X3_BN_RELU", "CONV1X1_BN_RELU", "MAXPOOL3X3", "LABEL2ID", "NONE", "SKIP_CONNECT",
           "CONV_1X1", "CONV_3X3", "AVG_POOL_3X3", "PRIMITIVES", "MAX_POOL_3X3", "MAX_POOL_5X5", "MAX_POOL_7X7",
           "CONV_3X1_1X3", "CONV_7X1_1X7", "DIL_CONV_3X3", "DIL_CONV_5X5", "SEP_CONV_3X3", "SEP_CONV_5X5",
           "SEP_CONV_7X7", "DIL_SEP_CONV_3X3"]
