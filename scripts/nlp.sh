#!/usr/bin/env bash
# Download NAS-Bench-NLP's training logs (fmsnew/nas-bench-nlp-release: the PTB single-run and multi-run archives and
# the WikiText-2 one) and convert them together into $NASBENCHMARK_DIR/nlp.db.
#
# The three logs.zip come from GitHub at a pinned commit, with resume after a cut. The WikiText-2 archive's sha256 is
# checked (measured at that commit); the PTB archives have no published checksum, so their sha256 is recorded, not
# checked. The PTB archives share some log files: each is converted once (the first copy kept, as NNI's nlp.sh
# lets unzip do), and the conversion reports how many. Nothing is unpacked. Safe to run again: the files are not
# fetched twice, and a database that already holds all of them is not rebuilt.
#
# Environment:
#   NASBENCHMARK_DIR        where the databases go (default ~/.cache/nasbench_db)
#   NASBENCH_DOWNLOAD_DIR   where the original files go (default $NASBENCHMARK_DIR/downloads)
#   NASBENCH_MIRROR         base URL of a mirror that holds the files under the catalog's names
#                           (nas-bench-nlp-ptb-single-run-logs.zip, ...; see nasbench-db download --list)
#   NASBENCH_NLP_DATASETS   which logs: "ptb wikitext-2" (default), "ptb" or "wikitext-2"
#   NASBENCH_DOWNLOAD_ONLY  1: download only, do not convert
#   NASBENCH_DB_CMD         the command line to run (default: nasbench-db, else python3 -m nasbench_db)
# Exit status: 0 done, 1 failed (the message says why), 3 this nasbench_db has no converter for it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
setup "$@"

datasets="${NASBENCH_NLP_DATASETS:-ptb wikitext-2}"
names=()
for dataset in $datasets; do
  case "$dataset" in
    ptb) names+=(nlp-ptb-single-run nlp-ptb-multi-runs) ;;
    wikitext-2) names+=(nlp-wikitext-2) ;;
    *) say "NASBENCH_NLP_DATASETS: unknown dataset '$dataset' (expected ptb and/or wikitext-2)"; exit 1 ;;
  esac
done

require_converter nlp
files=()
for name in "${names[@]}"; do
  files+=("$(fetch "$name")")
done

if [[ "$NASBENCH_DOWNLOAD_ONLY" == "1" ]]; then
  say "NASBENCH_DOWNLOAD_ONLY=1: not converting; later: nasbench-db convert nlp ${files[*]}"
else
  # One database from all the archives: rebuilt unless it already holds every one of them.
  missing=0
  for file in "${files[@]}"; do
    if ! nasbench_db has-source nlp --file "$file" --db-dir "$NASBENCHMARK_DIR" >/dev/null 2>&1; then
      missing=1
    fi
  done
  if [[ "$missing" == "0" ]]; then
    say "skipping the conversion: yes, nlp.db already holds ${files[*]}"
  else
    say "converting ${files[*]} (nasbench-db convert nlp)"
    nasbench_db convert nlp "${files[@]}" --db-dir "$NASBENCHMARK_DIR" >&2
  fi
fi
for file in "${files[@]}"; do
  report "$file" nlp.db
done
