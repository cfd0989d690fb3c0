//! Logs inside archives give the same findings as loose logs; hostile
//! archives are reported member by member; `inspect` and `plan --ssu` read
//! real Microsoft packages.

mod common;
use common::*;
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// A finding as (rule, facts, evidence (file name, line)).
type Shape = (String, String, Vec<(String, u64)>);

fn shape(r: &Run) -> Vec<Shape> {
    r.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let ev = f["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let p = e["path"].as_str().unwrap();
                    (p.rsplit(['/', '\\', '!']).next().unwrap().to_string(), e["line"].as_u64().unwrap())
                })
                .collect();
            (f["rule"].as_str().unwrap().to_string(), f["facts"].to_string(), ev)
        })
        .collect()
}

fn zip_dir(dir: &Path, out: &Path) {
    let f = std::fs::File::create(out).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    for p in files {
        let name = p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
        z.start_file(name, opts).unwrap();
        z.write_all(&std::fs::read(&p).unwrap()).unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn a_zipped_bundle_gives_the_same_findings_as_the_loose_files() {
    let loose = diagnose(&[&examples()]);
    let d = tempfile::tempdir().unwrap();
    let z = d.path().join("bundle.zip");
    zip_dir(&examples(), &z);
    let zipped = diagnose(&[&z]);
    assert_eq!(shape(&loose).len(), 2);
    assert_eq!(shape(&loose), shape(&zipped));
    assert_eq!(zipped.code, 1);
    let p = zipped.json["findings"][0]["evidence"][0]["path"].as_str().unwrap();
    assert!(p.contains("bundle.zip!"), "evidence names the member: {p}");
}

fn gcab() -> bool {
    std::process::Command::new("gcab").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn a_cab_made_by_gcab_gives_the_same_findings() {
    if !gcab() {
        eprintln!("skipped: gcab is not installed (.ci/run installs it)");
        return;
    }
    let src = examples().join("wu-driver-rollback");
    let d = tempfile::tempdir().unwrap();
    let cab = d.path().join("CbsPersist_20240312064200.cab");
    let st = std::process::Command::new("gcab")
        .current_dir(&src)
        .arg("-c")
        .arg("-z")
        .arg(&cab)
        .args(["Windows/Logs/CBS/CBS.log", "Windows/INF/setupapi.dev.log"])
        .status()
        .unwrap();
    assert!(st.success());
    let loose = diagnose(&[&src]);
    let packed = diagnose(&[&cab]);
    assert_eq!(shape(&loose), shape(&packed));
    assert_eq!(shape(&packed).len(), 1);
}

#[test]
fn rotated_cbs_cabs_in_a_windows_root_are_read() {
    if !gcab() {
        eprintln!("skipped: gcab is not installed (.ci/run installs it)");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    std::fs::create_dir_all(root.join("Windows/System32")).unwrap();
    let cbs = root.join("Windows/Logs/CBS");
    std::fs::create_dir_all(&cbs).unwrap();
    let stage = tempfile::tempdir().unwrap();
    std::fs::write(stage.path().join("CbsPersist_20171206153100.log"), SEED_CBS).unwrap();
    let st = std::process::Command::new("gcab")
        .current_dir(stage.path())
        .args(["-c", "-z"])
        .arg(cbs.join("CbsPersist_20171206153100.cab"))
        .arg("CbsPersist_20171206153100.log")
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::write(
        cbs.join("CBS.log"),
        "2017-12-07 09:00:00, Info                  CBS    TI: --- Initializing Trusted Installer ---\n",
    )
    .unwrap();
    let r = diagnose(&[root]);
    let a = findings(&r, RULE_A);
    assert_eq!(a.len(), 1, "{}", r.stdout);
    let p = a[0]["evidence"][0]["path"].as_str().unwrap();
    assert!(p.ends_with("CbsPersist_20171206153100.cab!CbsPersist_20171206153100.log"), "{p}");
    assert_eq!(fact(a[0], "inf"), Some("ntprint4.inf"));
}

/// `bomb.log`: 40 MiB of one byte, deflated, far past the ratio limit.
fn write_ratio_bomb<W: Write + std::io::Seek>(w: &mut zip::ZipWriter<W>) {
    let deflate = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file("bomb.log", deflate.large_file(true)).unwrap();
    let zeros = vec![b'0'; 1 << 20];
    for _ in 0..40 {
        w.write_all(&zeros).unwrap();
    }
}

#[test]
fn hostile_zip_members_are_reported_and_the_rest_diagnosed() {
    let d = tempfile::tempdir().unwrap();
    let z = d.path().join("evil.zip");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&z).unwrap());
        let deflate = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        w.start_file("../../escaped/CBS.log", deflate).unwrap();
        w.write_all(SEED_CBS.as_bytes()).unwrap();
        // A member that inflates far beyond the ratio limit.
        write_ratio_bomb(&mut w);
        w.finish().unwrap();
    }
    let r = diagnose(&[&z]);
    assert_eq!(findings(&r, RULE_A).len(), 1, "the good member is diagnosed");
    let srcs = r.json["sources"].as_array().unwrap();
    let bomb = srcs.iter().find(|s| s["path"].as_str().unwrap().ends_with("!bomb.log")).unwrap();
    assert!(bomb["error"].as_str().unwrap().contains("ratio"), "{bomb}");
    assert!(srcs.iter().any(|s| s["path"].as_str().unwrap().contains("evil.zip!../../escaped/CBS.log")));
    assert!(!d.path().join("../escaped").exists() && !Path::new("escaped").exists(), "nothing is written");
}

fn shared() -> Option<std::path::PathBuf> {
    let s = std::env::var_os("SERVICING_DOCTOR_SHARED").map(std::path::PathBuf::from);
    if s.is_none() {
        eprintln!("skipped: SERVICING_DOCTOR_SHARED is not set");
    }
    s
}

#[test]
fn inspect_reads_a_real_msu() {
    let Some(shared) = shared() else { return };
    let msu = shared.join("corpus/artifacts/cab/Windows6.1-KB2999226-x64.msu");
    let out = bin().args(["inspect", "--format", "json"]).arg(&msu).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &j["packages"][0];
    assert_eq!(p["name"], "Package_for_KB2999226");
    assert_eq!(p["version"], "6.1.1.6");
    assert_eq!(p["arch"], "amd64");
    assert!(j["members"].as_array().unwrap().len() > 5000);
    let out = bin().arg("inspect").arg(shared.join("corpus/SOURCES.tsv")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a .zip, .cab, .msu, .tar or .gz"));

    // Text leads with the identity and the verdict; members only on request.
    let text = |extra: &[&std::ffi::OsStr]| {
        let out = bin().arg("inspect").arg(&msu).args(extra).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let t = text(&[]);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines[1], "  verdict: not a servicing stack update: Package_for_KB2999226 6.1.1.6 amd64", "{t}");
    assert!(lines.len() < 40, "no member lines: {} lines", lines.len());
    assert!(t.contains("5027 member(s); list them with --members"), "{t}");
    assert!(text(&["--members".as_ref()]).lines().count() > 5000);

    // --for: how it fits a machine, in text and JSON.
    let machine = examples().join("upgrade-process-drivers");
    let t = text(&["--for".as_ref(), machine.as_os_str()]);
    assert!(t.contains(": does not fit this computer"), "{t}");
    assert!(t.contains("package is for Windows NT 6.1, the machine runs Windows NT 10.0 (build 19045)"), "{t}");
    let out = bin().args(["inspect", "--format", "json", "--for"]).arg(&machine).arg(&msu).output().unwrap();
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["fit"]["verdict"], "does not fit");
    assert!(j["members"].as_array().unwrap().len() > 5000, "JSON keeps the members");

    // A cabinet that is no update package says so first.
    let t = bin().arg("inspect").arg(shared.join("corpus/artifacts/cab/authrootstl.cab")).output().unwrap();
    let t = String::from_utf8(t.stdout).unwrap();
    assert_eq!(t.lines().nth(1), Some("  verdict: not an update package: no package identity (.mum) inside"), "{t}");
}

#[test]
fn plan_checks_the_given_package_against_the_machine() {
    let Some(shared) = shared() else { return };
    let msu = shared.join("corpus/artifacts/cab/Windows6.1-KB2999226-x64.msu");
    let out =
        bin().arg("plan").arg("--ssu").arg(&msu).arg(examples().join("upgrade-process-drivers")).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("$Fit = 'does not fit'"), "KB2999226 is not a servicing stack update");
    assert!(s.contains("does not say it is a servicing stack update"));
    assert!(s.contains("Stop-Plan 'The package does not fit this computer"));
    assert!(s.contains("package is for Windows NT 6.1, the machine runs Windows NT 10.0 (build 19045)"), "{s}");
    // The verdict holds for the inspected file only, not for another -Msu.
    assert!(s.contains("if ($PSBoundParameters.ContainsKey('Msu'))"), "{s}");
    // A path from another system: the file's name beside the script; a
    // Windows path (the plan was written on Windows) is kept as given.
    let default = if cfg!(windows) {
        format!("[string]$Msu = '{}',", std::path::absolute(&msu).unwrap().display())
    } else {
        // Set in the body: PowerShell 5.1 has no $PSScriptRoot in parameter defaults.
        "if (-not $PSBoundParameters.ContainsKey('Msu')) { $Msu = Join-Path $PSScriptRoot 'Windows6.1-KB2999226-x64.msu' }"
            .to_string()
    };
    assert!(s.contains(&default), "{default} in {s}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not fit this computer"), "warned on standard error: {err}");
    // A package that cannot be read is bad input: no plan. So is a cabinet
    // that holds no package identity, and one that cannot be decoded.
    let cabs = shared.join("corpus/artifacts/cab");
    for bad in [
        shared.join("corpus/SOURCES.tsv"),
        shared.join("no-such.msu"),
        cabs.join("authrootstl.cab"),
        cabs.join("malformed/qtm-max-size-block.cab"),
    ] {
        let out =
            bin().arg("plan").arg("--ssu").arg(&bad).arg(examples().join("upgrade-process-drivers")).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
        let name = bad.file_name().unwrap().to_string_lossy().into_owned();
        assert!(String::from_utf8_lossy(&out.stderr).contains(&name));
    }
}

/// Small members are analysed on the pool while the walker inflates the
/// next ones: the report must not depend on the thread count, and errors
/// the walker finds (a ratio limit) still land on their member.
#[test]
fn members_analysed_in_parallel_give_the_report_of_one_thread() {
    let d = tempfile::tempdir().unwrap();
    let z = d.path().join("fleet.zip");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&z).unwrap());
        let deflate = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let benign = "2017-12-06 15:30:40, Info                  CBS    Loaded Servicing Stack v10.0.16299.15\n";
        for i in 0..40 {
            w.start_file(format!("m{i:02}/Logs/CBS/CBS.log"), deflate).unwrap();
            w.write_all(benign.repeat(50 * (i + 1)).as_bytes()).unwrap();
            if i % 3 == 0 {
                w.write_all(SEED_CBS.as_bytes()).unwrap();
            }
            if i == 20 {
                // Over the in-memory size: read while it streams.
                w.write_all(benign.repeat((5 << 20) / benign.len()).as_bytes()).unwrap();
                w.write_all(SEED_CBS.as_bytes()).unwrap();
            }
        }
        write_ratio_bomb(&mut w);
        w.finish().unwrap();
    }
    let run = |threads: &str| {
        let out =
            bin().args(["diagnose", "--format", "json", "--quiet", "--threads", threads]).arg(&z).output().unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let one = run("1");
    assert_eq!(one.0, Some(1));
    for threads in ["2", "4"] {
        assert_eq!(run(threads), one, "--threads {threads} differs from --threads 1");
    }
    let json: Value = serde_json::from_str(&one.1).unwrap();
    let srcs = json["sources"].as_array().unwrap();
    assert_eq!(srcs.len(), 42, "the archive, 40 logs and the bomb");
    let bomb = srcs.iter().find(|s| s["path"].as_str().unwrap().ends_with("!bomb.log")).unwrap();
    assert!(bomb["error"].as_str().unwrap().contains("ratio"), "{bomb}");
    let evidence: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["evidence"].as_array().unwrap())
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(evidence.iter().any(|p| p.contains("!m20/")), "the large member is diagnosed too: {evidence:?}");
}

/// A `.tar` or `.tar.gz` of the examples (ustar headers written here).
fn tar_dir(dir: &Path, gz: bool) -> Vec<u8> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                files.push(p)
            }
        }
    }
    files.sort();
    let mut t = Vec::new();
    for p in files {
        let name = p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
        let data = std::fs::read(&p).unwrap();
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&c| u32::from(c)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        t.extend_from_slice(&h);
        t.extend_from_slice(&data);
        t.resize(t.len().div_ceil(512) * 512, 0);
    }
    t.extend_from_slice(&[0u8; 1024]);
    if !gz {
        return t;
    }
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&t).unwrap();
    e.finish().unwrap()
}

/// How Linux rescue systems and support tools collect logs: tar, tar.gz.
#[test]
fn tar_and_tar_gz_bundles_give_the_same_findings_as_the_loose_files() {
    let loose = diagnose(&[&examples()]);
    let d = tempfile::tempdir().unwrap();
    for (name, gz) in [("bundle.tar", false), ("bundle.tar.gz", true), ("bundle.tgz", true)] {
        let p = d.path().join(name);
        std::fs::write(&p, tar_dir(&examples(), gz)).unwrap();
        let packed = diagnose(&[&p]);
        assert_eq!(shape(&loose), shape(&packed), "{name}");
        let ev = packed.json["findings"][0]["evidence"][0]["path"].as_str().unwrap();
        assert!(ev.contains(&format!("{name}!")), "evidence names the member: {ev}");
    }
}
