# shellcheck shell=bash
# Shared by the download-and-convert scripts (sourced, not run): settings, the CLI, and the three steps
# (download + verify, ask the provenance table, convert).

NASBENCHMARK_DIR="${NASBENCHMARK_DIR:-$HOME/.cache/nasbench_db}"
export NASBENCHMARK_DIR
NASBENCH_DOWNLOAD_DIR="${NASBENCH_DOWNLOAD_DIR:-$NASBENCHMARK_DIR/downloads}"
NASBENCH_DOWNLOAD_ONLY="${NASBENCH_DOWNLOAD_ONLY:-0}"
SCRIPT_NAME="$(basename "$0")"
# NASBENCH_MIRROR is read by `nasbench-db download` itself; export it if it was set but not exported.
if [[ -n "${NASBENCH_MIRROR:-}" ]]; then export NASBENCH_MIRROR; fi

# The command line: $NASBENCH_DB_CMD, else nasbench-db on PATH, else python3 -m nasbench_db.
if [[ -n "${NASBENCH_DB_CMD:-}" ]]; then
  read -r -a NASBENCH_DB <<<"$NASBENCH_DB_CMD"
elif command -v nasbench-db >/dev/null 2>&1; then
  NASBENCH_DB=(nasbench-db)
else
  NASBENCH_DB=("${PYTHON:-python3}" -m nasbench_db)
fi

say() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }

nasbench_db() { "${NASBENCH_DB[@]}" "$@"; }

# The comment block at the top of the calling script, as its help text.
usage() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; }

setup() {
  if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then usage; exit 0; fi
  if [[ $# -gt 0 ]]; then say "takes no arguments (settings come from the environment; see --help)"; exit 2; fi
  trap 'status=$?; if [[ $status -eq 1 ]]; then
          say "failed; see the message above. Running the script again resumes where it stopped."; fi' EXIT
  if ! nasbench_db --version >/dev/null 2>&1; then
    say "cannot run '${NASBENCH_DB[*]}': install nasbench_db (pip install nasbench_db) or set NASBENCH_DB_CMD"
    exit 1
  fi
  say "databases: $NASBENCHMARK_DIR; original files: $NASBENCH_DOWNLOAD_DIR"
  if [[ -n "${NASBENCH_MIRROR:-}" ]]; then say "mirror: $NASBENCH_MIRROR"; fi
}

# require_converter SUBCOMMAND...: exit 3, saying so, when `nasbench-db convert SUBCOMMAND` does not exist
# (checked before downloading gigabytes that could not be converted).
require_converter() {
  [[ "$NASBENCH_DOWNLOAD_ONLY" == "1" ]] && return 0
  local subcommand
  for subcommand in "$@"; do
    if ! nasbench_db convert "$subcommand" --help >/dev/null 2>&1; then
      say "this nasbench_db ($(nasbench_db --version 2>/dev/null | tail -n 1)) has no '$subcommand' converter yet:"
      say "'nasbench-db convert $subcommand' does not exist, so nothing was downloaded or converted."
      say "Upgrade nasbench_db, or run with NASBENCH_DOWNLOAD_ONLY=1 to download and verify the file now and"
      say "convert it later with: nasbench-db convert $subcommand <file>"
      exit 3
    fi
  done
}

# fetch NAME [download options...]: download and verify (skipped when already there), print the path on stdout.
fetch() {
  local name=$1
  shift
  nasbench_db download "$name" --dir "$NASBENCH_DOWNLOAD_DIR" "$@"
}

# convert_once BENCHMARK SUBCOMMAND PATH: convert PATH into $NASBENCHMARK_DIR unless its database already holds it
# (the provenance table nasbench_source, matched by sha256, or by name for an unpacked directory).
convert_once() {
  local benchmark=$1 subcommand=$2 path=$3 answer
  if [[ "$NASBENCH_DOWNLOAD_ONLY" == "1" ]]; then
    say "NASBENCH_DOWNLOAD_ONLY=1: not converting; later: nasbench-db convert $subcommand $path"
    return 0
  fi
  if answer=$(nasbench_db has-source "$benchmark" --file "$path" --db-dir "$NASBENCHMARK_DIR"); then
    say "skipping the conversion: $answer"
  else
    say "converting $path (nasbench-db convert $subcommand)"
    nasbench_db convert "$subcommand" "$path" --db-dir "$NASBENCHMARK_DIR" >&2
  fi
}

# report ORIGINAL DATABASE_FILE: where everything went (on stdout; progress and messages go to stderr).
report() {
  local path=$1 database=$2 sha
  sha="$(cut -d' ' -f1 "$path.sha256" 2>/dev/null || echo '?')"
  printf 'original file: %s (sha256 %s, recorded in %s.sha256)\n' "$path" "$sha" "$path"
  if [[ "$NASBENCH_DOWNLOAD_ONLY" != "1" ]]; then
    printf 'database: %s (see: nasbench-db info --db-dir %s)\n' "$NASBENCHMARK_DIR/$database" "$NASBENCHMARK_DIR"
  fi
}
