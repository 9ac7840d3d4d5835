#!/usr/bin/env bash
# Download HW-NAS-Bench (hardware costs: latency, energy on six devices) and load it into
# $NASBENCHMARK_DIR/nasbench201.db beside NAS-Bench-201.
#
# HW-NAS-Bench-v1_0.pickle (about 10 MB, MIT) comes from the GATECH-EIC/HW-NAS-Bench repository at a pinned commit,
# with resume after a cut. Its authors publish no checksum, so its sha256 is recorded (in the .sha256 file beside it
# and in the database's provenance table), not checked. The pickle is read without running anything in it. Loading
# it changes no NAS-Bench-201 row; NAS-Bench-201 itself need not be installed first (scripts/nasbench201.sh). Safe to
# run again: the file is not fetched twice, and a database that already holds it is not loaded again.
#
# Environment:
#   NASBENCHMARK_DIR        where the databases go (default ~/.cache/nasbench_db)
#   NASBENCH_DOWNLOAD_DIR   where the original files go (default $NASBENCHMARK_DIR/downloads)
#   NASBENCH_MIRROR         base URL of a mirror that holds the files under their original names
#   NASBENCH_DOWNLOAD_ONLY  1: download only, do not convert
#   NASBENCH_DB_CMD         the command line to run (default: nasbench-db, else python3 -m nasbench_db)
# Exit status: 0 done, 1 failed (the message says why), 3 this nasbench_db has no converter for it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
setup "$@"

require_converter hw-nasbench
file="$(fetch hw-nasbench)"
convert_once nb201 hw-nasbench "$file"
report "$file" nasbench201.db
