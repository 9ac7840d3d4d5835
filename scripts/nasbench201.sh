#!/usr/bin/env bash
# Download NAS-Bench-201 and convert it into $NASBENCHMARK_DIR/nasbench201.db.
#
# The original NAS-Bench-201-v1_1-096897.pth (4.7 GB; or v1_0-e61699, 2.2 GB) comes from Google Drive (its "can't scan
# for viruses" page is answered; its quota page is reported with what to do) with resume after a cut. Its name carries
# an identifier (096897 ends the file's md5), which is checked, but no full checksum is published: the download is
# reported UNVERIFIED. The converter's restricted reader runs no code whatever the file holds (docs/download.md).
# Safe to run again: a file already there is not fetched twice, and a database that already holds it is not rebuilt.
#
# Environment:
#   NASBENCHMARK_DIR        where the databases go (default ~/.cache/nasbench_db)
#   NASBENCH_DOWNLOAD_DIR   where the original files go (default $NASBENCHMARK_DIR/downloads)
#   NASBENCH_MIRROR         base URL of a mirror that holds the files under their original names
#   NASBENCH201_VERSION     v1_1 (default) or v1_0
#   NASBENCH_DOWNLOAD_ONLY  1: download and verify, do not convert
#   NASBENCH_DB_CMD         the command line to run (default: nasbench-db, else python3 -m nasbench_db)
# Exit status: 0 done, 1 failed (the message says why), 3 this nasbench_db has no converter for it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
setup "$@"

version="${NASBENCH201_VERSION:-v1_1}"
case "$version" in
  v1_0 | v1_1) ;;
  *) say "NASBENCH201_VERSION must be 'v1_0' or 'v1_1': got '$version'"; exit 1 ;;
esac
require_converter nb201
file="$(fetch "nb201-$version")"
convert_once nb201 nb201 "$file"
report "$file" nasbench201.db
