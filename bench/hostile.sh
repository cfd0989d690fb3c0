#!/usr/bin/env bash
# Resource bounds for the large hostile cases of issue 7 (the behaviour is
# tested in crates/cli/tests/hostile.rs; here are the figures): wall time and
# peak RSS of `diagnose --format json` on generated inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${BENCH_DIR:-/tmp/servicing-doctor-bench}/hostile"
mkdir -p "$data"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cargo build --release --quiet --locked
sd="${CARGO_TARGET_DIR:-target}/release/servicing-doctor"

mk() { # name, python expression writing the file
    [ -s "$data/$1/CBS.log" ] && return 0
    mkdir -p "$data/$1"
    python3 - "$data/$1/CBS.log" <<PY
import sys
out = open(sys.argv[1], "wb")
$2
out.close()
PY
}
seed='b"2017-12-06 15:30:46, Info    CBS   DriverUpdateInstallUpdates failed [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n2017-12-06 15:30:46, Error   CBS   Startup: Failed while processing non-critical driver operations queue. [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n2017-12-06 15:30:46, Info    CBS   Startup: Rolling back KTM, because drivers failed.\n"'
mk no-newline-1g "block = b'x' * (1 << 24)
for _ in range(64): out.write(block)"
mk line-100m "out.write(b'2017-12-06 15:30:40, Info    CBS   ' + b'A' * (100 << 20) + b'\n'); out.write($seed)"
mk continuations-20m "out.write(b'2017-12-06 15:30:45, Info    CSI   00000001 Begin\n'); out.write(b'    continuation\n' * 20_000_000); out.write($seed)"
mk flood-2m "out.write(b'2017-12-06 15:30:46, Info    CBS   Startup: Rolling back KTM, because drivers failed.\n' * 2_000_000); out.write($seed)"

printf '| hostile case | input | wall (s) | peak RSS (MiB) | findings | notes |\n|---|---:|---:|---:|---:|---|\n'
for case in no-newline-1g line-100m continuations-20m flood-2m; do
    f="$data/$case/CBS.log"
    size=$(stat -c %s "$f")
    json="$data/$case.json"
    /usr/bin/time -f "%e %M" -o "$data/.time" "$sd" diagnose --quiet --format json "$f" > "$json" 2>/dev/null || true
    out=$(tail -n 1 "$data/.time")
    findings=$(python3 -c "import json;print(len(json.load(open('$json'))['findings']))")
    notes=$(python3 -c "import json;s=json.load(open('$json'))['sources'][0];print('; '.join(w[:60] for w in s.get('warnings',[])) or '-')")
    awk -v c="$case" -v b="$size" -v o="$out" -v n="$findings" -v w="$notes" 'BEGIN{ split(o, a, " "); printf "| %s | %.0f MiB | %.2f | %.0f | %d | %s |\n", c, b/1048576, a[1], a[2]/1024, n, w }'
done

# Issue 11, items 1-3 (untrusted text in the plan, the Markdown request and
# the terminal): the plan spells every non-ASCII character as [char]0xNNNN
# and the Markdown escapes every value, so their cost grows with the text.
# Worst case: 20,000 matching lines of 11 KiB, 1,500 non-ASCII characters (CJK,
# U+0452, U+2019, U+202E, emoji) with | and Markdown link syntax; `plan`
# and `diagnose --format md` on it (evidence is capped per finding).
mkdir -p "$data/non-ascii-220m"
[ -s "$data/non-ascii-220m/CBS.log" ] || python3 - "$data/non-ascii-220m/CBS.log" <<'PY'
import sys
out = open(sys.argv[1], "wb")
text = ("\u4e2d\u0452\u2019\u202e|[x](https://evil.example/)" * 300 + "\U0001F600").encode()
line = b"2017-12-06 15:30:46, Info    CBS   Doqe: Recording result: 0x80070003, for Inf: " + text + b".inf\n"
out.write(line * 20_000)
out.write(b"2017-12-06 15:30:46, Info    CBS   DriverUpdateInstallUpdates failed [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n2017-12-06 15:30:46, Error   CBS   Startup: Failed while processing non-critical driver operations queue. [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n2017-12-06 15:30:46, Info    CBS   Startup: Rolling back KTM, because drivers failed.\n")
out.close()
PY
printf '\n| hostile case (issue 11.1-3) | input | command | wall (s) | peak RSS (MiB) | output |\n|---|---:|---|---:|---:|---:|\n'
f="$data/non-ascii-220m/CBS.log"
size=$(stat -c %s "$f")
for cmd in "plan" "diagnose --quiet --format md"; do
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e %M" -o "$data/.time" "$sd" $cmd "$f" > "$data/non-ascii.out" 2>/dev/null || true
    out=$(tail -n 1 "$data/.time")
    bytes=$(stat -c %s "$data/non-ascii.out")
    awk -v c="$cmd" -v b="$size" -v o="$out" -v n="$bytes" 'BEGIN{ split(o, a, " "); printf "| non-ascii-220m | %.0f MiB | %s | %.2f | %.0f | %.1f MiB |\n", b/1048576, c, a[1], a[2]/1024, n/1048576 }'
done
