#!/usr/bin/env bash
# Benchmarks for issue 6: generates large logs (deterministic), then compares
# `servicing-doctor diagnose --format json` with `rg -c -F` over the same
# anchor literals the embedded rules use, on the same files, page cache warm.
# Prints one table; figures come from this run only.
#
#   bench/run.sh            # 256 MiB, 1 GiB, 4 GiB, a 16 x 128 MiB folder, a 5 MB bundle, 200 of them
#   BENCH_QUICK=1 bench/run.sh   # 64 MiB and 256 MiB only (a smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."
data="${BENCH_DIR:-/tmp/servicing-doctor-bench}"
mkdir -p "$data"

if ! command -v rg >/dev/null; then
    echo "bench: installing ripgrep (Debian)" >&2
    apt-get update -qq && apt-get install -y -qq ripgrep >/dev/null
fi
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

cargo build --release --quiet --locked
cargo build --release --quiet --locked -p servicing-doctor-core --example genlogs
sd="${CARGO_TARGET_DIR:-target}/release/servicing-doctor"
gen="${CARGO_TARGET_DIR:-target}/release/examples/genlogs"
"$sd" rules anchors > "$data/anchors.txt"
echo "anchors: $(wc -l < "$data/anchors.txt") literals; threads: $(nproc)"

if [ -n "${BENCH_QUICK:-}" ]; then sizes="64M 256M"; else sizes="256M 1G 4G"; fi
for s in $sizes; do
    f="$data/CBS-$s.log"
    [ -s "$f" ] || "$gen" --kind cbs --size "$s" --failure-at 0.95 --seed 7 --out "$f" 2>/dev/null
done

# Best of 3 wall time and the peak RSS of that run: "seconds kib".
measure() {
    local best="" best_rss=""
    for _ in 1 2 3; do
        local out
        # Exit 1 means "failure found" for servicing-doctor: not an error here.
        /usr/bin/time -f "%e %M" -o "$data/.time" "$@" > /dev/null 2>&1 || true
        out=$(tail -n 1 "$data/.time")
        local t=${out% *} rss=${out#* }
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; best_rss=$rss; fi
    done
    echo "$best $best_rss"
}

printf '\n| input | size | ours (s) | rg (s) | ratio | ours RSS (MiB) | rg RSS (MiB) | ours MB/s |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
for s in $sizes; do
    f="$data/CBS-$s.log"
    bytes=$(stat -c %s "$f")
    cat "$f" > /dev/null   # warm the page cache
    read -r ours ours_rss < <(measure "$sd" diagnose --quiet --format json "$f")
    read -r rgt rg_rss < <(measure rg -c -F -f "$data/anchors.txt" "$f")
    awk -v s="$s" -v b="$bytes" -v o="$ours" -v r="$rgt" -v orss="$ours_rss" -v rrss="$rg_rss" 'BEGIN{
        printf "| CBS.log | %s | %.2f | %.2f | %.2fx | %.0f | %.0f | %.0f |\n", s, o, r, o/r, orss/1024, rrss/1024, b/1e6/o }'
done

if [ -z "${BENCH_QUICK:-}" ]; then
    # Scaling across files: 16 logs of 128 MiB, 1 thread vs 2.
    folder="$data/fleet16"
    mkdir -p "$folder"
    for i in $(seq 1 16); do
        [ -s "$folder/CBS-$i.log" ] || "$gen" --kind cbs --size 128M --seed "$i" --out "$folder/CBS-$i.log" 2>/dev/null
    done
    cat "$folder"/*.log > /dev/null
    read -r one one_rss < <(measure "$sd" diagnose --quiet --format json --threads 1 "$folder")
    read -r two two_rss < <(measure "$sd" diagnose --quiet --format json --threads 2 "$folder")
    printf '\n| 16 x 128 MiB folder | 1 thread (s) | 2 threads (s) | speed-up | RSS 2 threads (MiB) |\n|---|---:|---:|---:|---:|\n'
    awk -v a="$one" -v b="$two" -v r="$two_rss" 'BEGIN{ printf "| fleet16 | %.2f | %.2f | %.2fx | %.0f |\n", a, b, a/b, r/1024 }'

    # A typical 5 MB bundle, start-up included.
    small="$data/bundle5"
    mkdir -p "$small/Windows/Logs/CBS" "$small/Windows/Logs/DISM" "$small/\$WINDOWS.~BT/Sources/Panther"
    [ -s "$small/Windows/Logs/CBS/CBS.log" ] || "$gen" --kind cbs --size 3M --failure-at 0.9 --seed 3 --out "$small/Windows/Logs/CBS/CBS.log" 2>/dev/null
    [ -s "$small/Windows/Logs/DISM/dism.log" ] || "$gen" --kind dism --size 1M --seed 4 --out "$small/Windows/Logs/DISM/dism.log" 2>/dev/null
    [ -s "$small/\$WINDOWS.~BT/Sources/Panther/setupact.log" ] || "$gen" --kind setupact --size 1M --seed 5 --out "$small/\$WINDOWS.~BT/Sources/Panther/setupact.log" 2>/dev/null
    read -r st st_rss < <(measure "$sd" diagnose --quiet --format json "$small")
    printf '\n| 5 MB bundle | wall (ms) | RSS (MiB) |\n|---|---:|---:|\n'
    awk -v t="$st" -v r="$st_rss" 'BEGIN{ printf "| CBS+DISM+setupact | %.0f | %.0f |\n", t*1000, r/1024 }'

    # A fleet share: 200 such bundles (hard links), one ndjson line each.
    fleet="$data/fleet200"
    mkdir -p "$fleet"
    for i in $(seq 1 200); do [ -d "$fleet/pc$i" ] || cp -al "$small" "$fleet/pc$i"; done
    read -r ft ft_rss < <(measure "$sd" diagnose --quiet --format ndjson "$fleet"/pc*)
    lines=$("$sd" diagnose --quiet --format ndjson "$fleet"/pc* | wc -l || true)
    printf '\n| fleet share | bundles | wall (s) | bundles/s | RSS (MiB) |\n|---|---:|---:|---:|---:|\n'
    awk -v t="$ft" -v r="$ft_rss" -v n="$lines" 'BEGIN{ printf "| 200 x 5 MB, --format ndjson | %d | %.2f | %.0f | %.0f |\n", n, t, n/t, r/1024 }'
fi
echo
echo "targets: ratio <= 1.5x rg; RSS <= 64 MiB at 1 GiB and 4 GiB; linear in size; 16-file folder >= 1.7x with 2 threads; 5 MB bundle < 50 ms"
