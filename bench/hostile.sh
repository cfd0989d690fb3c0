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
# ---------------------------------------------------------------------------
# Issue 11, items 6 (archive part), 10 and 11: archives and hit memory. The
# behaviour is tested in crates/cli/tests/hostile_archives.rs and
# crates/core/tests/archives.rs; here are the figures for the large cases.
#   zip-overlap-5000   5,000 central-directory entries at one local entry (item 6)
#   cab-overlap-20     20 cab entries at one offset of one MSZIP folder (item 6)
#   zip-setupapi-1g    a zip holding a 1 GiB setupapi.dev.log of 0x80 bytes (item 10)
#   setupapi-1g        the same log, loose (item 10)
#   zip-hits-400       400 x 1 MiB members whose lines match several signals (item 11)
# ---------------------------------------------------------------------------
mk_archive() { # name, file name, python body writing `out`
    [ -s "$data/$1/$2" ] && return 0
    mkdir -p "$data/$1"
    python3 - "$data/$1/$2" <<PY
import struct, sys, zlib
out = open(sys.argv[1], "wb")
seed = $seed
def local(name, method, crc, csize, size):
    return struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, method, 0, 0x21, crc, csize, size, len(name), 0) + name
def central(name, method, crc, csize, size, offset):
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, method, 0, 0x21, crc, csize, size, len(name), 0, 0, 0, 0, 0, offset) + name
def eocd(n, cd_len, cd_at):
    return struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, n, n, cd_len, cd_at, 0)
def deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()
$3
out.close()
PY
}
mk_archive zip-overlap-5000 bundle.zip "
body = seed * 3000
comp = deflate(body)
crc = zlib.crc32(body)
name = b'CBS.log'
out.write(local(name, 8, crc, len(comp), len(body)) + comp)
cd_at = out.tell()
cd = b''.join(central(b'Logs/CBS%05d.log' % i, 8, crc, len(comp), len(body), 0) for i in range(5000))
out.write(cd + eocd(5000, len(cd), cd_at))"
mk_archive cab-overlap-20 bundle.cab "
body = seed * 25000
blocks = [body[i:i + 32768] for i in range(0, len(body), 32768)]
data = b''
for b in blocks:
    cb = b'CK' + deflate(b)
    data += struct.pack('<IHH', 0, len(cb), len(b)) + cb
names = [b'CBS%02d.log' % i for i in range(20)]
files = b''.join(struct.pack('<IIHHHH', len(body), 0, 0, 0x21, 0, 0) + n + b'\0' for n in names)
files_at = 36 + 8
data_at = files_at + len(files)
total = data_at + len(data)
out.write(struct.pack('<4sIIIIIBBHHHHH', b'MSCF', 0, total, 0, files_at, 0, 3, 1, 1, len(names), 0, 0, 0))
out.write(struct.pack('<IHH', data_at, len(blocks), 1))
out.write(files + data)"
mk_archive zip-setupapi-1g bundle.zip "
import os
block = (b'\x80' * 4093 + b'\n')
name = b'Windows/INF/setupapi.dev.log'
c = zlib.compressobj(1, zlib.DEFLATED, -15)
crc, size = 0, 0
out.write(local(name, 8, 0, 0, 0))
comp = 0
rnd = os.urandom(4 << 20)
for i in range(1 << 18):
    b = block[:4090] + rnd[i * 16:i * 16 + 3] + b'\n'
    crc = zlib.crc32(b, crc)
    size += len(b)
    piece = c.compress(b)
    comp += len(piece)
    out.write(piece)
piece = c.flush()
comp += len(piece)
out.write(piece)
cd_at = out.tell()
out.seek(0)
out.write(local(name, 8, crc, comp, size))
out.seek(cd_at)
cd = central(name, 8, crc, comp, size, 0) + central(b'Windows/Logs/CBS/CBS.log', 0, zlib.crc32(seed), len(seed), len(seed), cd_at)
seed_at = cd_at
out.write(local(b'Windows/Logs/CBS/CBS.log', 0, zlib.crc32(seed), len(seed), len(seed)) + seed)
cd_at = out.tell()
out.write(cd + eocd(2, len(cd), cd_at))"
mk_archive setupapi-1g setupapi.dev.log "
block = b'\x80' * (1 << 24)
for _ in range(64): out.write(block)"
mk_archive zip-hits-400 bundle.zip "
body = seed * (1048576 // len(seed))
comp = deflate(body)
crc = zlib.crc32(body)
cd = b''
for i in range(400):
    name = b'Logs/CbsPersist_%04d.log' % i
    at = out.tell()
    out.write(local(name, 8, crc, len(comp), len(body)) + comp)
    cd += central(name, 8, crc, len(comp), len(body), at)
cd_at = out.tell()
out.write(cd + eocd(400, len(cd), cd_at))"
printf '\n| hostile archive (issue 11) | input | wall (s) | peak RSS (MiB) | findings | sources |\n|---|---:|---:|---:|---:|---|\n'
for case in zip-overlap-5000/bundle.zip cab-overlap-20/bundle.cab zip-setupapi-1g/bundle.zip setupapi-1g/setupapi.dev.log zip-hits-400/bundle.zip; do
    f="$data/$case"
    size=$(stat -c %s "$f")
    json="$data/${case%%/*}.json"
    /usr/bin/time -f "%e %M" -o "$data/.time" "$sd" diagnose --quiet --format json "$f" > "$json" 2>/dev/null || true
    out=$(tail -n 1 "$data/.time")
    findings=$(python3 -c "import json;print(len(json.load(open('$json'))['findings']))")
    notes=$(python3 -c "import json;s=json.load(open('$json'))['sources'];e=[x['error'] for x in s if x.get('error')];print(f'{len(s)} sources, {len(e)} errors' + ('; ' + e[-1][:50] if e else ''))")
    awk -v c="${case%%/*}" -v b="$size" -v o="$out" -v n="$findings" -v w="$notes" 'BEGIN{ split(o, a, " "); printf "| %s | %.1f MiB | %.2f | %.0f | %d | %s |\n", c, b/1048576, a[1], a[2]/1024, n, w }'
done
# --- end of issue 11, items 6, 10, 11 ---
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
printf '\n| hostile scale (issue 11) | input | wall (s) | peak RSS (MiB) | findings | notes |\n|---|---:|---:|---:|---:|---|\n'
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
