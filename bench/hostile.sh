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
# ---- issue 11, items 4 and 8: hostile offline SOFTWARE hives --------------------------------
# A Windows root per case: Windows/Logs/CBS/CBS.log holds the seed failure, and
# Windows/System32/config/SOFTWARE (+ .LOG1/.LOG2) is the hostile hive. The hives come from the
# test hive writer (crates/core/tests/hives.rs, write_hostile_hives); large files are sparse.
# Behaviour is tested in crates/cli/tests/hostile_hives.rs; here are the figures.
hives="$data/hives"
if [ ! -s "$hives/ri-fan-out" ]; then
    SERVICING_DOCTOR_HOSTILE_OUT="$hives" cargo test -q --locked -p servicing-doctor-core --test hives \
        -- --exact write_hostile_hives >/dev/null
fi
seed_cbs=$(python3 -c "import sys; sys.stdout.buffer.write($seed)")
hive_root() { # case name; prints the SOFTWARE path of a fresh root
    local r="$data/hive-$1"
    rm -rf "$r"
    mkdir -p "$r/Windows/Logs/CBS" "$r/Windows/System32/config"
    printf '%s\n' "$seed_cbs" > "$r/Windows/Logs/CBS/CBS.log"
    echo "$r/Windows/System32/config/SOFTWARE"
}
s=$(hive_root ri-loop); cp "$hives/ri-loop" "$s"
s=$(hive_root ri-fan-out-65535x65535); cp "$hives/ri-fan-out" "$s"
s=$(hive_root big-data-65535-segments); cp "$hives/big-data-repeated" "$s"
s=$(hive_root sparse-4g-good-signature); cp "$hives/clean" "$s"; truncate -s 4G "$s"
s=$(hive_root sparse-4g-bad-signature); printf 'junk' > "$s"; truncate -s 4G "$s"
s=$(hive_root dev-zero); ln -s /dev/zero "$s"
s=$(hive_root fifo); mkfifo "$s"
s=$(hive_root dirty-logs-1g); cp "$hives/dirty" "$s"
for l in LOG1 LOG2; do cp "$hives/dirty.LOG" "$s.$l"; truncate -s 1G "$s.$l"; done

printf '\n| hostile hive (issue 11) | hive on disk | wall (s) | peak RSS (MiB) | exit | findings | hive source |\n|---|---:|---:|---:|---:|---:|---|\n'
for case in ri-loop ri-fan-out-65535x65535 big-data-65535-segments sparse-4g-good-signature \
    sparse-4g-bad-signature dev-zero fifo dirty-logs-1g; do
    r="$data/hive-$case"
    size=$(du -k --apparent-size "$r/Windows/System32/config/SOFTWARE" 2>/dev/null | cut -f1)
    json="$data/hive-$case.json"
    code=0
    /usr/bin/time -f "%e %M" -o "$data/.time" "$sd" diagnose --quiet --format json "$r" > "$json" 2>/dev/null || code=$?
    out=$(tail -n 1 "$data/.time")
    summary=$(python3 - "$json" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print("0|no report (%s)" % type(e).__name__); sys.exit()
h = [s for s in j["sources"] if s["kind"] == "hive"]
what = "-" if not h else (h[0].get("error") or "; ".join(h[0].get("warnings", [])) or "read")
print("%d|%s" % (len(j["findings"]), what.split("SOFTWARE: ")[-1][:90].replace("|", "/")))
PY
)
    awk -v c="$case" -v k="${size:-0}" -v o="$out" -v x="$code" -v s="$summary" 'BEGIN{ split(o, a, " "); split(s, b, "|"); printf "| %s | %.0f KiB | %.2f | %.0f | %d | %s | %s |\n", c, k, a[1], a[2]/1024, x, b[1], b[2] }'
done
# ---- end of issue 11, items 4 and 8 ---------------------------------------------------------
