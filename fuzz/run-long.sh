#!/usr/bin/env bash
# Long fuzzing of every target: fuzz/run-long.sh [SECONDS_PER_TARGET] (default 600).
#
# Same setup as the CI smoke run (.ci/fuzz-smoke.sh), but the corpus persists
# in fuzz/corpus/<target>/ (git-ignored), so each run continues from the last.
# Crashes land in fuzz/artifacts/<target>/. Settings: see fuzz/common.sh
# (e.g. FUZZ_TARGETS="diagnose rules" FUZZ_JOBS=1 FUZZ_SANITIZER=address).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODE=fuzz-long
# shellcheck source=common.sh
. "$ROOT/fuzz/common.sh"

secs="${1:-600}"
case "$secs" in
    '' | *[!0-9]*) die "usage: fuzz/run-long.sh [SECONDS_PER_TARGET]  (got '$secs')" ;;
esac
[ "$secs" -ge 1 ] || die "SECONDS_PER_TARGET must be at least 1 (libFuzzer reads 0 as no time limit)"

ensure_tools
build_targets
run_all "$secs" "$FUZZ_DIR/corpus" "$FUZZ_DIR/target/long-logs"
