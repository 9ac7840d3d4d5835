#!/usr/bin/env bash
# Download NAS-Bench-101 and convert it into $NASBENCHMARK_DIR/nasbench101.db (no TensorFlow needed).
#
# The original nasbench_full.tfrecord (2.09 GB; epochs 4, 12, 36 and 108) is fetched from Google Cloud Storage with
# resume after a cut and checked against the sha256 published in the NAS-Bench-101 README. Safe to run again: a
# verified file is not fetched twice, and a database that already holds it is not rebuilt.
#
# Environment:
#   NASBENCHMARK_DIR        where the databases go (default ~/.cache/nasbench_db)
#   NASBENCH_DOWNLOAD_DIR   where the original files go (default $NASBENCHMARK_DIR/downloads)
#   NASBENCH_MIRROR         base URL of a mirror that holds the files under their original names
#   NASBENCH101_VARIANT     full (default) or only108 (about 0.5 GB, 108 epochs only)
#   NASBENCH_DOWNLOAD_ONLY  1: download and verify, do not convert
#   NASBENCH_DB_CMD         the command line to run (default: nasbench-db, else python3 -m nasbench_db)
# Exit status: 0 done, 1 failed (the message says why), 3 this nasbench_db has no converter for it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
setup "$@"

variant="${NASBENCH101_VARIANT:-full}"
case "$variant" in
  full | only108) ;;
  *) say "NASBENCH101_VARIANT must be 'full' or 'only108': got '$variant'"; exit 1 ;;
esac
require_converter nb101
file="$(fetch "nb101-$variant")"
convert_once nb101 nb101 "$file"
report "$file" nasbench101.db
