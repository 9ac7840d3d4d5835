"""The ``nasbench-db`` command line (also ``python -m nasbench_db``).

Commands live in one module per area and attach themselves to the groups of :mod:`._common`.
"""

from ._common import cli, convert, query  # noqa: F401
from . import core  # noqa: F401,E402  (registers the commands)
from . import download  # noqa: F401,E402
from . import nds  # noqa: F401,E402
from . import nlp  # noqa: F401,E402
from . import nb201  # noqa: F401,E402
from . import train  # noqa: F401,E402
from . import search  # noqa: F401,E402
from . import joined  # noqa: F401,E402
from . import ecnas  # noqa: F401,E402
from . import serve  # noqa: F401,E402

__all__ = ["cli"]
