#!/usr/bin/env bash
# Download NATS-Bench (topology and size search spaces) and convert it into $NASBENCHMARK_DIR.
#
# The topology space (tss) goes into nasbench201.db, the size space (sss) into nats_sss.db. By default the
# "-simple" archives (one small pickle per architecture; 1.1 GB for tss) come from Google Drive with resume after a
# cut, are unpacked beside the archive (into a hidden folder renamed into place when complete) and the folder is
# converted. The authors publish no checksum of these archives (the 5 hex digits in their names are the md5 suffix of
# the .pickle.pbz2 files), so the downloads are reported UNVERIFIED and their sha256 is recorded. NATS_FORMAT=pbz2
# fetches the single .pickle.pbz2 files instead (their md5 suffix checked as an identifier, also UNVERIFIED). The
# converters' restricted readers run no code whatever the files hold (docs/download.md).
# Safe to run again: files already there are not fetched twice, and databases that already hold them are not rebuilt.
#
# Environment:
#   NASBENCHMARK_DIR        where the databases go (default ~/.cache/nasbench_db)
#   NASBENCH_DOWNLOAD_DIR   where the original files go (default $NASBENCHMARK_DIR/downloads)
#   NASBENCH_MIRROR         base URL of a mirror that holds the files under their original names
#   NATS_SPACES             which spaces, default "tss sss"
#   NATS_FORMAT             simple (default) or pbz2
#   NASBENCH_DOWNLOAD_ONLY  1: download and verify, do not convert
#   NASBENCH_DB_CMD         the command line to run (default: nasbench-db, else python3 -m nasbench_db)
# Exit status: 0 done, 1 failed (the message says why), 3 this nasbench_db has no converter for it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
setup "$@"

spaces="${NATS_SPACES:-tss sss}"
format="${NATS_FORMAT:-simple}"
case "$format" in
  simple | pbz2) ;;
  *) say "NATS_FORMAT must be 'simple' or 'pbz2': got '$format'"; exit 1 ;;
esac
subcommands=()
for space in $spaces; do
  case "$space" in
    tss | sss) subcommands+=("nats-$space") ;;
    *) say "NATS_SPACES may hold 'tss' and 'sss': got '$space'"; exit 1 ;;
  esac
done
require_converter "${subcommands[@]}"

for space in $spaces; do
  if [[ "$space" == tss ]]; then
    benchmark=nb201 database=nasbench201.db
  else
    benchmark=nats_sss database=nats_sss.db
  fi
  if [[ "$format" == simple ]]; then
    archive="$(fetch "nats-$space-simple")"
    if [[ "$NASBENCH_DOWNLOAD_ONLY" == "1" ]]; then
      source_path="$archive"
    else
      source_path="$(fetch "nats-$space-simple" --extract)"
    fi
  else
    archive="$(fetch "nats-$space")"
    source_path="$archive"
  fi
  convert_once "$benchmark" "nats-$space" "$source_path"
  report "$archive" "$database"
  if [[ "$source_path" != "$archive" ]]; then echo "unpacked archive: $source_path"; fi
done
