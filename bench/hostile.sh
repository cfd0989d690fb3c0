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
