#!/usr/bin/env bash
# Download CIFAR-10 and CIFAR-100 (python batches, for `nasbench-db train --data-dir`) and unpack them.
#
# The tarballs come from www.cs.toronto.edu with resume after a cut, are verified against the sha256 Keras pins (and
# the md5 of the CIFAR page),
# and are unpacked into $CIFAR_DIR/cifar-10-batches-py and $CIFAR_DIR/cifar-100-python (a hidden folder renamed into
# place when complete). Safe to run again: verified tarballs are neither fetched nor unpacked twice.
#
# Environment:
#   CIFAR_DIR               where the tarballs and the batches go (default $NASBENCHMARK_DIR/cifar)
#   NASBENCHMARK_DIR        default ~/.cache/nasbench_db
#   NASBENCH_MIRROR         base URL of a mirror that holds the files under their original names
#   CIFAR_DATASETS          which ones, default "cifar10 cifar100"
#   NASBENCH_DB_CMD         the command line to run (default: nasbench-db, else python3 -m nasbench_db)
# Exit status: 0 done, 1 failed (the message says why).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
NASBENCH_DOWNLOAD_DIR="${CIFAR_DIR:-$NASBENCHMARK_DIR/cifar}"
setup "$@"

for dataset in ${CIFAR_DATASETS:-cifar10 cifar100}; do
  case "$dataset" in
    cifar10 | cifar100) ;;
    *) say "CIFAR_DATASETS may hold 'cifar10' and 'cifar100': got '$dataset'"; exit 1 ;;
  esac
  archive="$(fetch "$dataset")"
  folder="$(fetch "$dataset" --extract)"
  echo "$dataset: $folder (from $archive, verified)"
done
echo "train with: nasbench-db train ... --data-dir $NASBENCH_DOWNLOAD_DIR"
