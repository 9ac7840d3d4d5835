#!/usr/bin/env bash
# Download NAS-Bench-Suite-Zero's zero-cost proxy scores (NASLib's zc_nasbench201.json and zc_nasbench101.json) and
# load them into $NASBENCHMARK_DIR/nasbench201.db and nasbench101.db beside the benchmarks.
#
# Both files come from the automl/NASLib repository at a pinned commit and are checked against their sha256. Loading
# them changes no benchmark row; the benchmarks need not be installed first. Safe to run again: the files are not
# fetched twice, and a database that already holds a file is not loaded again.
#
# Environment:
#   NASBENCHMARK_DIR        where the databases go (default ~/.cache/nasbench_db)
#   NASBENCH_DOWNLOAD_DIR   where the original files go (default $NASBENCHMARK_DIR/downloads)
#   NASBENCH_MIRROR         base URL of a mirror that holds the files under their original names
#   NASBENCH_ZC_SPACES      which spaces (default "nb201 nb101")
#   NASBENCH_DOWNLOAD_ONLY  1: download only, do not convert
#   NASBENCH_DB_CMD         the command line to run (default: nasbench-db, else python3 -m nasbench_db)
# Exit status: 0 done, 1 failed (the message says why), 3 this nasbench_db has no converter for it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
setup "$@"

require_converter zc
for space in ${NASBENCH_ZC_SPACES:-nb201 nb101}; do
  case "$space" in
    nb101) database=nasbench101.db ;;
    nb201) database=nasbench201.db ;;
    *) say "NASBENCH_ZC_SPACES may hold nb201 and nb101: got '$space'"; exit 1 ;;
  esac
  file="$(fetch "zc-$space")"
  convert_once "$space" zc "$file"
  report "$file" "$database"
done
