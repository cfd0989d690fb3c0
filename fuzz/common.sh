# Shared by .ci/fuzz-smoke.sh and fuzz/run-long.sh (sourced, not run).
#
# Expects ROOT (repository root) and MODE (a name for logs and messages).
# Settings, all from the environment:
#   FUZZ_SEED       libFuzzer -seed (default 1337)
#   FUZZ_JOBS       targets fuzzed at once (default: number of CPUs)
#   FUZZ_SANITIZER  cargo fuzz -s value (default none: the project's crates
#                   forbid unsafe code, and ASan makes these targets ~6x slower;
#                   use address for a memory-safety pass over the dependencies)
#   FUZZ_TARGETS    space-separated subset of targets (default: all)
#   FUZZ_ARGS       extra libFuzzer flags for every target

FUZZ_DIR="$ROOT/fuzz"
FUZZ_SEED="${FUZZ_SEED:-1337}"
FUZZ_JOBS="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}"
FUZZ_SANITIZER="${FUZZ_SANITIZER:-none}"
FUZZ_ARGS="${FUZZ_ARGS:-}"
export CARGO_TERM_COLOR=never

die() {
    echo "$MODE: ERROR: $*" >&2
    exit 1
}

# Nightly Rust and cargo-fuzz, installed when missing; failing to get them
# fails the run (fuzzing is never skipped silently).
ensure_tools() {
    command -v rustup >/dev/null 2>&1 \
        || die "rustup is not installed; fuzzing needs it to get a nightly toolchain"
    if ! rustup run nightly rustc --version >/dev/null 2>&1; then
        echo "== installing the nightly toolchain"
        rustup toolchain install nightly --profile minimal \
            || die "could not install the nightly toolchain (rustup toolchain install nightly --profile minimal)"
        rustup run nightly rustc --version >/dev/null 2>&1 \
            || die "nightly toolchain installed but rustc +nightly does not run"
    fi
    if ! cargo fuzz --version >/dev/null 2>&1; then
        echo "== installing cargo-fuzz"
        cargo install cargo-fuzz --locked \
            || die "could not install cargo-fuzz (cargo install cargo-fuzz --locked)"
        cargo fuzz --version >/dev/null 2>&1 \
            || die "cargo-fuzz installed but 'cargo fuzz' does not run (is ~/.cargo/bin on PATH?)"
    fi
    echo "== $(rustup run nightly rustc --version); $(cargo fuzz --version)"
}

HOST_TRIPLE=""
ALL_TARGETS=""

# Build every target once.
build_targets() {
    HOST_TRIPLE="$(rustup run nightly rustc -vV | sed -n 's/^host: //p')"
    [ -n "$HOST_TRIPLE" ] || die "cannot tell the host triple from rustc +nightly -vV"
    # Fuzz the dependency versions that ship: start from the main workspace's
    # lock file (cargo adds libFuzzer's own crates and drops the rest).
    if [ -f "$ROOT/Cargo.lock" ]; then
        cp "$ROOT/Cargo.lock" "$FUZZ_DIR/Cargo.lock"
    fi
    echo "== building all fuzz targets (sanitizer: $FUZZ_SANITIZER)"
    (cd "$ROOT" && cargo +nightly fuzz build --fuzz-dir "$FUZZ_DIR" -s "$FUZZ_SANITIZER") \
        || die "cargo +nightly fuzz build failed"
    ALL_TARGETS="$(cd "$ROOT" && cargo +nightly fuzz list --fuzz-dir "$FUZZ_DIR")" \
        || die "cargo fuzz list failed"
    [ -n "$ALL_TARGETS" ] || die "no fuzz targets found in $FUZZ_DIR"
}

# The libFuzzer dictionary of a target.
dict_for() {
    case "$1" in
        hresult | rules | ps_literal | winsxs_name | archive | registry) echo "$FUZZ_DIR/dicts/$1.dict" ;;
        *) echo "$FUZZ_DIR/dicts/logs.dict" ;;
    esac
}

# run_target NAME SECONDS CORPUS_DIR LOG_DIR: fuzz one target; writes LOG_DIR/NAME.rc.
run_target() {
    local t="$1" secs="$2" corpus="$3" logs="$4"
    local bin="$FUZZ_DIR/target/$HOST_TRIPLE/release/$t"
    local seeds="$FUZZ_DIR/seeds/$t"
    local dict
    dict="$(dict_for "$t")"
    mkdir -p "$corpus" "$FUZZ_DIR/artifacts/$t"
    [ -d "$seeds" ] || die "no seed corpus for target $t (expected $seeds)"
    local args=(
        "-max_total_time=$secs" "-seed=$FUZZ_SEED" -rss_limit_mb=2048 -timeout=10
        -print_final_stats=1 "-artifact_prefix=$FUZZ_DIR/artifacts/$t/"
    )
    [ -f "$dict" ] && args+=("-dict=$dict")
    # shellcheck disable=SC2206 # FUZZ_ARGS is a list of flags on purpose
    args+=($FUZZ_ARGS)
    local rc=0
    "$bin" "${args[@]}" "$corpus" "$seeds" >"$logs/$t.log" 2>&1 || rc=$?
    echo "$rc" >"$logs/$t.rc"
}

# run_all SECONDS CORPUS_ROOT LOG_DIR: every target (FUZZ_JOBS at a time),
# then a summary; exits non-zero when any target failed.
run_all() {
    local secs="$1" corpus_root="$2" logs="$3"
    local targets="${FUZZ_TARGETS:-$ALL_TARGETS}"
    mkdir -p "$logs"
    rm -f "$logs"/*.rc "$logs"/*.log
    echo "== fuzzing: ${secs}s per target, seed $FUZZ_SEED, $FUZZ_JOBS at a time"
    for t in $targets; do
        case " $(echo $ALL_TARGETS) " in
            *" $t "*) ;;
            *) die "unknown fuzz target: $t (known: $(echo $ALL_TARGETS))" ;;
        esac
        while [ "$(jobs -rp | wc -l)" -ge "$FUZZ_JOBS" ]; do
            wait -n || true
        done
        echo "-- $t"
        run_target "$t" "$secs" "$corpus_root/$t" "$logs" &
    done
    wait || true

    local failed=""
    printf '%-14s %-6s %12s %9s %s\n' target result execs exec/s corpus
    for t in $targets; do
        local rc execs speed corp
        rc="$(cat "$logs/$t.rc" 2>/dev/null || echo '?')"
        execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -n1)"
        speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$t.log" | tail -n1)"
        corp="$(grep -Eo 'corp: [0-9]+/[0-9A-Za-z]+' "$logs/$t.log" | tail -n1 | cut -d' ' -f2 || true)"
        if [ "$rc" = 0 ]; then
            printf '%-14s %-6s %12s %9s %s\n' "$t" ok "${execs:-?}" "${speed:-?}" "${corp:-?}"
        else
            printf '%-14s %-6s %12s %9s %s\n' "$t" "FAIL($rc)" "${execs:-?}" "${speed:-?}" "${corp:-?}"
            failed="$failed $t"
        fi
    done
    if [ -n "$failed" ]; then
        for t in $failed; do
            echo
            echo "==== $t failed; end of its log ($logs/$t.log):"
            grep -v -E '^#[0-9]+' "$logs/$t.log" | tail -n 40
        done
        echo
        echo "$MODE: FAILED:$failed" >&2
        echo "$MODE: crashing inputs are in $FUZZ_DIR/artifacts/<target>/;" \
            "replay one with: $FUZZ_DIR/target/$HOST_TRIPLE/release/<target> <file>" >&2
        exit 1
    fi
    echo "$MODE: every fuzz target ran ${secs}s without a failure"
}
