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

# --- issue 11, items 6 (correlation), 7, 9 and 12: time and memory in
# correlation, scanning, setupapi and rule loading (behaviour tested in
# crates/cli/tests/hostile_scale.rs). Rows continue the table above.
i11="$data/issue11"
gen11() { # name, python body writing under the folder `d`
    [ -e "$i11/$1.done" ] && return 0
    rm -rf "${i11:?}/$1" && mkdir -p "$i11/$1"
    python3 - "$i11/$1" <<PY
import os, sys
d = sys.argv[1]
q = b"2017-12-06 15:30:46, Error   CBS   Startup: Failed while processing non-critical driver operations queue. [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n"
$2
PY
    touch "$i11/$1.done"
}
gen11 corr-20x5000 "
for i in range(20):
    os.makedirs(f'{d}/m{i:02}')
    open(f'{d}/m{i:02}/CBS.log', 'wb').write(q * 5000)"
gen11 continuations-64m "
line = b'    Failed while processing non-critical driver operations queue. [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n'
with open(f'{d}/CBS.log', 'wb') as f:
    f.write(b'2017-12-06 15:30:46, Info    CBS   Begin\n')
    f.write(line * ((64 << 20) // len(line)))"
gen11 winsxs-50k-empty "
for i in range(50000):
    os.makedirs(f'{d}/Windows/WinSxS/amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.{i >> 16}.{i & 0xffff}_none_{i:016x}')"
gen11 setupapi-title-1m "
with open(f'{d}/setupapi.dev.log', 'wb') as f:
    f.write(b'>>>  [Install Driver Updates ' + b'x' * (1 << 20) + b']\n>>>  Section start 2017/12/06 15:30:40.000\n')
    f.write(b\"!!!  sto:      Unable to load INF: 'C:\\\\Windows\\\\INF\\\\oem7.inf'(00000003)\n\" * 6000)"
gen11 line-500m "
with open(f'{d}/CBS.log', 'wb') as f:
    f.write(b'2017-12-06 15:30:40, Info    CBS   ')
    for _ in range(500): f.write(b'A' * (1 << 20))
    f.write(b'\n')"
gen11 rules-2000-huge-regex "
for i in range(2000):
    open(f'{d}/r{i:04}.yaml', 'w').write(f'''id: big-{i}
title: t
severity: info
summary: s
signals:
  - id: a
    kinds: [cbs]
    anchor: anchor{i}
    regex: '\\\\w{{1500}}'
remediation:
  id: x
  steps: [s]
''')"
for case in corr-20x5000 continuations-64m winsxs-50k-empty setupapi-title-1m line-500m rules-2000-huge-regex; do
    in="$i11/$case"
    size=$(du -sb "$in" | cut -f1)
    json="$i11/$case.json"
    if [ "$case" = rules-2000-huge-regex ]; then
        /usr/bin/time -f "%e %M" -o "$data/.time" "$sd" rules list --rules "$in" > /dev/null 2> "$json.err" || true
        findings=0
        notes="exit 2: $(head -n 2 "$json.err" | tail -n 1 | sed 's#.*/##' | cut -c1-80)"
    else
        /usr/bin/time -f "%e %M" -o "$data/.time" "$sd" diagnose --quiet --format json "$in" > "$json" 2>/dev/null || true
        findings=$(python3 -c "import json;print(len(json.load(open('$json'))['findings']))")
        notes=$(python3 -c "import json;w=[x for s in json.load(open('$json'))['sources'] for x in s.get('warnings',[])];print('; '.join(x[:60] for x in w[:2]) or '-')")
    fi
    out=$(tail -n 1 "$data/.time")
    awk -v c="$case" -v b="$size" -v o="$out" -v n="$findings" -v w="$notes" 'BEGIN{ split(o, a, " "); printf "| %s | %.0f MiB | %.2f | %.0f | %d | %s |\n", c, b/1048576, a[1], a[2]/1024, n, w }'
done
# --- end of issue 11, items 6, 7, 9, 12 ---
