#!/usr/bin/env bash
# Download NDS (facebookresearch/nds data.zip, the 34 sweep files) and convert it into $NASBENCHMARK_DIR/nds.db.
#
# data.zip comes from dl.fbaipublicfiles.com with resume after a cut. Its authors publish no checksum, so its sha256
# is recorded (in data.zip.sha256 and in the database's provenance table), not checked. The converter reads the zip
# directly; nothing is unpacked. Safe to run again: the file is not fetched twice, and a database that already holds
# it is not rebuilt.
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

require_converter nds
file="$(fetch nds)"
convert_once nds nds "$file"
report "$file" nds.db
