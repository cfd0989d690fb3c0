#!/usr/bin/env bash
# CI: a short fuzz run of every parser (cargo-fuzz / libFuzzer).
#
# Installs nightly Rust and cargo-fuzz when missing (and fails if it cannot),
# builds all targets once, then runs each for FUZZ_SECONDS (default 30) with
# a fixed seed, starting from its committed seeds in fuzz/seeds/<target>/
# and a fresh scratch corpus. Any crash, timeout (-timeout=10) or
# out-of-memory (-rss_limit_mb=2048) fails the run; the input is left in
# fuzz/artifacts/<target>/. More settings: see fuzz/common.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODE=fuzz-smoke
# shellcheck source=../fuzz/common.sh
. "$ROOT/fuzz/common.sh"

FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
case "$FUZZ_SECONDS" in
    '' | *[!0-9]*) die "FUZZ_SECONDS must be a whole number of seconds, got '$FUZZ_SECONDS'" ;;
esac
[ "$FUZZ_SECONDS" -ge 1 ] || die "FUZZ_SECONDS must be at least 1 (libFuzzer reads 0 as no time limit)"

ensure_tools
build_targets
# A fresh corpus each time, so that a run depends only on the seeds and the seed.
scratch="$FUZZ_DIR/target/smoke-corpus"
rm -rf "$scratch"
run_all "$FUZZ_SECONDS" "$scratch" "$FUZZ_DIR/target/smoke-logs"
