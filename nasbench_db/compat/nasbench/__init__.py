"""google-research/nasbench's ``nasbench`` package, answered from nasbench_db: ``from nasbench_db.compat.nasbench
import api`` replaces ``from nasbench import api`` (see :mod:`nasbench_db.compat.nasbench.api`)."""
