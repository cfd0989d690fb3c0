//! Micro-benchmarks of the hot path, so regressions show up:
//! the line grammar, the anchor prefilter, and a whole chunk scan.
//! `cargo bench -p servicing-doctor-core` (bench/run.sh has the end-to-end figures).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use servicing_doctor::records::panther;
use servicing_doctor::rules::scan::scan_text;
use servicing_doctor::rules::RuleSet;
use servicing_doctor::stream::count_entries;
use servicing_doctor::LogKind;

/// A few MB of CBS-like text with the real logs' line mix.
fn sample() -> String {
    let lines = [
        "2024-03-12 06:40:00, Info                  CBS    Appl: detect Parent, Package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4170.1.10, Parent: Microsoft-Windows-Client-Features-Package~31bf3856ad364e35~amd64~~10.0.19041.4170, Disposition = Detect, VersionComp: EQ, ServiceComp: GE, BuildComp: GE\n",
        "2024-03-12 06:40:01, Info                  CSI    00000001@2024/3/12:05:40:01.713 CSI Transaction @0x1d2b6f39fa0 initialized for deployment engine {d16d444c-56d8-11d5-882d-0080c847b195} with flags 00000002\n",
        "  (0)  Uninstall: flags: 0 tlc: [Microsoft-Windows-Hello-Face-Migration-Deployment, version 10.0.19041.1202, arch amd64, nonSxS, pkt {l:8 b:31bf3856ad364e35}])\n",
        "2024-03-12 06:40:02, Info                  CBS    Failed to get internal update package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4170.1.10 [HRESULT = 0x800f0805 - CBS_E_INVALID_PACKAGE]\n",
        "2024-03-12 06:40:03, Info                  CBS    Lock: New lock added: CCbsPublicSessionClassFactory, level: 30, total lock:6\n",
    ];
    let mut t = String::new();
    let mut i = 0;
    while t.len() < 4 << 20 {
        t.push_str(lines[i % lines.len()]);
        if i % 997 == 0 {
            t.push_str("2024-03-12 06:40:03, Info                  CBS    Failed to get session package state [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n");
        }
        i += 1;
    }
    t
}

fn benches(c: &mut Criterion) {
    let text = sample();
    let rules = RuleSet::embedded().expect("embedded rules compile");
    let mut g = c.benchmark_group("hot_path");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("prefilter_and_scan_4MiB", |b| {
        b.iter(|| scan_text(&rules, LogKind::Cbs, black_box(&text), 0, None))
    });
    g.bench_function("count_entries_4MiB", |b| b.iter(|| count_entries(black_box(&text))));
    g.finish();

    let line = "2024-03-12 06:40:00, Info                  CBS    Appl: detect Parent, Package: Package_for_RollupFix";
    c.bench_function("parse_line", |b| b.iter(|| panther::parse_line(black_box(line))));
    c.bench_function("parse_timestamp", |b| b.iter(|| panther::parse_timestamp(black_box(line.as_bytes()))));
}

criterion_group!(hot, benches);
criterion_main!(hot);
