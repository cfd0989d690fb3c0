//! Writes large, realistic servicing logs for benchmarks: the line mix,
//! widths, continuation blocks and harmless error noise of real CBS, DISM
//! and setupact logs, with an optional failure chain at a chosen position.
//! Deterministic for a given seed.
//!
//! cargo run --release -p servicing-doctor-core --example genlogs -- \
//!     --kind cbs --size 1G --failure-at 0.95 --seed 7 --out /tmp/CBS.log

use std::io::{BufWriter, Write};

/// xorshift64*: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

struct Clock {
    secs: u64,
}

impl Clock {
    fn stamp(&self) -> String {
        let (d, r) = (self.secs / 86_400, self.secs % 86_400);
        // 2024-01-01 + d days (30-day months keep the arithmetic trivial and valid).
        let (month, day) = ((d / 28) % 12 + 1, d % 28 + 1);
        format!("2024-{month:02}-{day:02} {:02}:{:02}:{:02}", r / 3600, r % 3600 / 60, r % 60)
    }
    fn utc(&self) -> String {
        let (d, r) = (self.secs / 86_400, self.secs % 86_400);
        let (month, day) = ((d / 28) % 12 + 1, d % 28 + 1);
        format!("2024/{month}/{day}:{:02}:{:02}:{:02}.{:03}", r / 3600, r % 3600 / 60, r % 60, r % 1000)
    }
}

const PACKAGES: &[&str] = &[
    "Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4170.1.10",
    "Microsoft-Windows-Client-Features-Package~31bf3856ad364e35~amd64~~10.0.19041.4170",
    "Package_for_ServicingStack_4160~31bf3856ad364e35~amd64~~19041.4160.1.1",
    "Microsoft-Windows-NetFx3-OnDemand-Package~31bf3856ad364e35~amd64~~10.0.19041.1",
    "Microsoft-OneCore-ApplicationModel-Sync-Desktop-FOD-Package~31bf3856ad364e35~amd64~~10.0.19041.3636",
];

fn cbs_entry(r: &mut Rng, c: &Clock, seq: &mut u64, out: &mut String) {
    let t = c.stamp();
    let pkg = r.pick(PACKAGES);
    // Rates per 1000 entries; the error noise sits at the noisy end of the
    // real logs in ../shared/corpus (benign 0x80070003 lines, Doqe success
    // lines, servicing stack DLL paths: each 0-1.3% of lines there).
    match r.below(1000) {
        0..=299 => out.push_str(&format!(
            "{t}, Info                  CBS    Appl: detect Parent, Package: {pkg}, Parent: Microsoft-Windows-Client-Features-Package~31bf3856ad364e35~amd64~~10.0.19041.4170, Disposition = Detect, VersionComp: EQ, ServiceComp: GE, BuildComp: GE, DistributionComp: GE, RevisionComp: GE, Exist: present\n"
        )),
        300..=499 => out.push_str(&format!(
            "{t}, Info                  CBS    Appl: Evaluating package applicability for package {pkg}, applicable state: Installed\n"
        )),
        500..=659 => {
            *seq += 1;
            out.push_str(&format!(
                "{t}, Info                  CSI    {:08x}@{} CSI Transaction @0x1d2b6f39fa0 initialized for deployment engine {{d16d444c-56d8-11d5-882d-0080c847b195}} with flags 00000002 and client id [10]\"TI6.0_{}:1/\"\n",
                *seq,
                c.utc(),
                r.below(1 << 30)
            ));
        }
        660..=759 => {
            *seq += 1;
            out.push_str(&format!("{t}, Info                  CSI    {:08x} Performing 3 operations as follows:\n", *seq));
            for (i, op) in ["Uninstall", "MarkUnstaged", "Unpin"].iter().enumerate() {
                out.push_str(&format!(
                    "  ({i})  {op}: flags: 0 tlc: [Microsoft-Windows-Hello-Face-Migration-Deployment, version 10.0.19041.1202, arch amd64, nonSxS, pkt {{l:8 b:31bf3856ad364e35}}]) ref: ( flgs: 00000000 guid: {{d16d444c-56d8-11d5-882d-0080c847b195}} name: [l:119]'{pkg}' ncdata: [l:0]'')\n"
                ));
            }
        }
        760..=769 => out.push_str(&format!(
            "{t}, Info                  CBS    Failed to get session package state [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n"
        )),
        770..=779 => {
            *seq += 1;
            out.push_str(&format!(
                "{t}, Info                  CSI    {:08x} Loading installer DLL from explicit path: C:\\Windows\\WinSxS\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.1220_none_7e21bc567c7ed16b\\wcp.dll\n",
                *seq
            ));
        }
        780..=839 => out.push_str(&format!(
            "{t}, Info                  CBS    Failed to get internal update package: {pkg} [HRESULT = 0x800f0805 - CBS_E_INVALID_PACKAGE]\n"
        )),
        840..=849 => out.push_str(&format!(
            "{t}, Info                  CBS    Doqe: Recording result: 0x00000000, for Inf: oem{}.inf\n",
            r.below(80)
        )),
        850..=929 => out.push_str(&format!(
            "{t}, Info                  CBS    Lock: New lock added: CCbsPublicSessionClassFactory, level: 30, total lock:{}\n",
            r.below(12)
        )),
        _ => out.push_str(&format!(
            "{t}, Info                  CBS    Exec: Processing complete.  Session: 31099846_{}, Package: {pkg} [HRESULT = 0x0 - S_OK]\n",
            r.below(1 << 31)
        )),
    }
}

fn dism_entry(r: &mut Rng, c: &Clock, out: &mut String) {
    let t = c.stamp();
    let pid = 4000 + r.below(4000);
    match r.below(10) {
        0..=5 => out.push_str(&format!(
            "{t}, Info                  DISM   DISM Package Manager: PID={pid} TID={} Processing the top level command token(get-packages). - CPackageManagerCLIHandler::Private_ValidateCmdLine\n",
            r.below(9000)
        )),
        6 | 7 => out.push_str(&format!(
            "{t}, Info                  DISM   DISM Appx Provider: PID={pid} TID={} Failed to initialize package set (hr:0x80070003) - CAppxPackageManager::Initialize\n",
            r.below(9000)
        )),
        8 => out.push_str(&format!(
            "{t}, Warning               DISM   PID={pid} TID={} Failed to archive the log file. Continuing with existing log file. - CDISMManager::CreateLocalImageSession(hr:0x80070002)\n",
            r.below(9000)
        )),
        _ => out.push_str(&format!("[{pid}] [0x8007007b] FIOReadFileIntoBuffer:(1381): The filename, directory name, or volume label syntax is incorrect.\n")),
    }
}

fn setupact_entry(r: &mut Rng, c: &Clock, out: &mut String) {
    let t = c.stamp();
    match r.below(10) {
        0..=3 => out.push_str(&format!(
            "{t}, Info                  SP     OPERATIONTRACK: Enqueue Operation: {:3}|Process Drivers for Migration\n",
            r.below(60)
        )),
        4..=5 => out.push_str(&format!(
            "{t}, Info                  MIG    Gather started: {} objects enumerated for C:\\Users\\Public\\Documents\n",
            r.below(100_000)
        )),
        6 => out.push_str(&format!(
            "{t}, Info                  SP     CProvisioningMigration::DoExecute: ProvMigration failed. Error: 0x80070003[gle=0x0000012a]\n"
        )),
        7 => out.push_str(&format!("{t}, Info                  CONX   Compatibility: device {} passed the hardware requirement check\n", r.below(999))),
        8 => out.push_str(&format!("{t}, Info                         [setupplatform.exe] Begin ExecuteAsync (phase {})\n", r.below(9))),
        _ => out.push_str(&format!("{t}, Info                  MOUPG  Setup phase change: [SetupPhaseInstall] -> [SetupPhaseInstall]\n")),
    }
}

fn failure(kind: &str, c: &Clock, out: &mut String) {
    let t = c.stamp();
    match kind {
        "cbs" => {
            out.push_str(&format!("{t}, Info                  CBS    INSTALL index: 69, phase: 1, result 3, inf: ntprint4.inf\n"));
            out.push_str(&format!("{t}, Info                  CBS    Doqe: Recording result: 0x80070003, for Inf: ntprint4.inf\n"));
            out.push_str(&format!("{t}, Info                  CBS    DriverUpdateInstallUpdates failed [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n"));
            out.push_str(&format!("{t}, Error                 CBS    Startup: Failed while processing non-critical driver operations queue. [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n"));
            out.push_str(&format!("{t}, Info                  CBS    Startup: Rolling back KTM, because drivers failed.\n"));
        }
        "dism" => out.push_str(&format!(
            "{t}, Error                 DISM   DISM Manager: PID=6120 TID=4892 Failed to bind the online servicing stack - CDISMOSServiceManager::get_ServicingStackDirectory(hr:0x80070003)\n"
        )),
        _ => {
            out.push_str(&format!("{t}, Error                 SP     Failed to open new session: (DISM_{{5c1c2e3a-6f6b-4d0e-9a3e-2b1f5d8c7a10}}) [0x80070003]\n"));
            out.push_str(&format!("{t}, Error                 SP     Operation failed: Process Drivers for Migration. Error: 0x80070003[gle=0x00000003]\n"));
        }
    }
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (n, mult) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1u64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    n.parse::<u64>().ok().map(|n| n * mult)
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let kind = get("--kind").unwrap_or_else(|| "cbs".into());
    let size = get("--size").and_then(|s| parse_size(&s)).unwrap_or(64 << 20);
    let failure_at: Option<f64> = get("--failure-at").and_then(|s| s.parse().ok());
    let seed: u64 = get("--seed").and_then(|s| s.parse().ok()).unwrap_or(1);
    let Some(out_path) = get("--out") else {
        eprintln!("usage: genlogs --kind cbs|dism|setupact --size 1G [--failure-at 0.95] [--seed N] --out FILE");
        std::process::exit(2);
    };
    if !["cbs", "dism", "setupact"].contains(&kind.as_str()) {
        eprintln!("genlogs: unknown --kind {kind}");
        std::process::exit(2);
    }
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&out_path)?);
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut clock = Clock { secs: 0 };
    let mut seq = 0u64;
    let mut written = 0u64;
    let fail_at = failure_at.map(|f| (size as f64 * f.clamp(0.0, 1.0)) as u64);
    let mut failed = false;
    let mut buf = String::with_capacity(1 << 16);
    while written < size {
        buf.clear();
        while buf.len() < 60_000 {
            clock.secs += rng.below(3);
            if let Some(at) = fail_at {
                if !failed && written + buf.len() as u64 >= at {
                    failure(&kind, &clock, &mut buf);
                    failed = true;
                    continue;
                }
            }
            match kind.as_str() {
                "cbs" => cbs_entry(&mut rng, &clock, &mut seq, &mut buf),
                "dism" => dism_entry(&mut rng, &clock, &mut buf),
                _ => setupact_entry(&mut rng, &clock, &mut buf),
            }
        }
        w.write_all(buf.as_bytes())?;
        written += buf.len() as u64;
    }
    w.flush()?;
    eprintln!(
        "genlogs: wrote {written} bytes of {kind} to {out_path}{}",
        if failed { " (with a failure chain)" } else { "" }
    );
    Ok(())
}
