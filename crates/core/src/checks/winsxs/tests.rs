use super::*;
#[cfg(unix)]
use std::time::Duration;

const TOKEN: &str = "31bf3856ad364e35";
const V1: &str = "10.0.26100.5074";

const EXAMPLES: [&str; 7] = [
    "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.26100.5074_none_a5532eb7772ad4c4",
    "amd64_microsoft-windows-servicingstack-inetsrv_31bf3856ad364e35_10.0.26100.5074_none_d120fd2616d820ec",
    "amd64_microsoft-windows-servicingstack-onecore_31bf3856ad364e35_10.0.26100.5074_none_da44c3c8cf2df25a",
    "x86_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.26100.5074_none_49349333becd638e",
    "wow64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.26100.5074_none_afa7d909ab8b96bf",
    "arm64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.26100.5074_none_a55c8b2f77243c1e",
    "msil_microsoft.windows.servicingstack.interop_31bf3856ad364e35_10.0.26100.5074_none_1b2c3d4e5f607182",
];

/// A deterministic 16-hex-digit hash.
fn hash(n: u64) -> String {
    format!("{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

fn stack_name(arch: &str, family: &str, version: &str, n: u64) -> String {
    format!("{arch}_microsoft-windows-{family}_{TOKEN}_{version}_none_{}", hash(n))
}

/// Create a stack folder holding `files`; returns its path.
fn make_stack(winsxs: &Path, arch: &str, family: &str, version: &str, files: &[&str]) -> PathBuf {
    let n = (arch.len() * 1000 + family.len() * 10 + version.len()) as u64
        + version.bytes().map(u64::from).sum::<u64>() * 7
        + arch.bytes().map(u64::from).sum::<u64>() * 13;
    let dir = winsxs.join(stack_name(arch, family, version, n));
    fs::create_dir(&dir).unwrap();
    for f in files {
        fs::write(dir.join(f), b"MZ").unwrap();
    }
    dir
}

fn main_files() -> &'static [&'static str] {
    &["cbscore.dll", "TiWorker.exe", "wcp.dll", "CbsMsg.dll"]
}

/// Unrelated component folders, plus the usual non-component entries.
fn add_noise(winsxs: &Path, count: u64) {
    for i in 0..count {
        let name =
            format!("amd64_microsoft-windows-component{i}.resources_{TOKEN}_10.0.26100.{i}_en-us_{}", hash(i + 10_000));
        fs::create_dir(winsxs.join(name)).unwrap();
    }
    for d in ["Manifests", "Catalogs", "Temp", "Backup", "FileMaps"] {
        fs::create_dir(winsxs.join(d)).unwrap();
    }
    fs::write(winsxs.join("pending.xml"), b"<xml/>").unwrap();
}

/// A healthy WinSxS: for amd64 and x86 the main folder with cbscore.dll,
/// onecore and inetsrv, plus `noise` unrelated folders and a few
/// look-alike components that are not servicing stack folders.
fn healthy(winsxs: &Path, version: &str, noise: u64) {
    for arch in ["amd64", "x86"] {
        make_stack(winsxs, arch, "servicingstack", version, main_files());
        make_stack(winsxs, arch, "servicingstack-onecore", version, &["wcp.dll"]);
        make_stack(winsxs, arch, "servicingstack-inetsrv", version, &["x.dll"]);
    }
    add_noise(winsxs, noise);
    // Look-alikes: other components whose names start the same way.
    for (i, name) in [
        "microsoft-windows-servicingstackfoo",
        "microsoft-windows-servicingstack.resources",
        "microsoft-windows-servicingstack-",
        "microsoft-windows-servicing-stack",
    ]
    .iter()
    .enumerate()
    {
        let dir = format!("amd64_{name}_{TOKEN}_{version}_en-us_{}", hash(i as u64 + 77));
        fs::create_dir(winsxs.join(dir)).unwrap();
    }
    // Near-miss name (3-part version) is not parsed.
    let bad = format!("amd64_microsoft-windows-servicingstack_{TOKEN}_10.0.26100_none_{}", hash(5));
    fs::create_dir(winsxs.join(bad)).unwrap();
}

fn new_winsxs() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let winsxs = tmp.path().join("WinSxS");
    fs::create_dir(&winsxs).unwrap();
    (tmp, winsxs)
}

fn find<'a>(inv: &'a Inventory, arch: &str, family: &str) -> &'a StackFolder {
    inv.folders
        .iter()
        .find(|f| f.component.arch == arch && f.family == family)
        .unwrap_or_else(|| panic!("no {arch} {family} in {:#?}", inv.folders))
}

// ---- parsing ----------------------------------------------------------

#[test]
fn parses_the_example_names() {
    for name in EXAMPLES {
        let c = parse_component_name(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(c.public_key_token, TOKEN);
        assert_eq!(c.version, V1);
        assert_eq!(c.culture, "none");
        assert_eq!(c.hash.len(), 16);
    }
    let c = parse_component_name(EXAMPLES[0]).unwrap();
    assert_eq!(
        c,
        ComponentName {
            arch: "amd64".into(),
            name: "microsoft-windows-servicingstack".into(),
            public_key_token: TOKEN.into(),
            version: V1.into(),
            culture: "none".into(),
            hash: "a5532eb7772ad4c4".into(),
        }
    );
    assert_eq!(parse_component_name(EXAMPLES[1]).unwrap().name, "microsoft-windows-servicingstack-inetsrv");
    assert_eq!(parse_component_name(EXAMPLES[2]).unwrap().hash, "da44c3c8cf2df25a");
    assert_eq!(parse_component_name(EXAMPLES[3]).unwrap().arch, "x86");
    assert_eq!(parse_component_name(EXAMPLES[4]).unwrap().arch, "wow64");
    assert_eq!(parse_component_name(EXAMPLES[5]).unwrap().arch, "arm64");
    let msil = parse_component_name(EXAMPLES[6]).unwrap();
    assert_eq!(msil.arch, "msil");
    assert_eq!(msil.name, "microsoft.windows.servicingstack.interop");
}

#[test]
fn parses_old_style_and_mixed_case_names() {
    let old = "x86_microsoft-windows-servicingstack_31bf3856ad364e35_6.1.7601.17514_none_0b66cb34258c936f";
    let c = parse_component_name(old).unwrap();
    assert_eq!(c.version, "6.1.7601.17514");
    assert_eq!(c.arch, "x86");
    let vista = "x86_microsoft.vc90.crt_1fc8b3b9a1e18e3b_9.0.30729.4148_none_5090ab56bcba71c2";
    assert_eq!(parse_component_name(vista).unwrap().name, "microsoft.vc90.crt");
    // Case on disk is normalised to lowercase.
    let upper = "AMD64_Microsoft-Windows-ServicingStack_31BF3856AD364E35_10.0.26100.5074_None_A5532EB7772AD4C4";
    assert_eq!(parse_component_name(upper), parse_component_name(EXAMPLES[0]));
}

#[test]
fn parses_abbreviated_names_and_cultures() {
    let abbrev = "amd64_microsoft-windows-c..ityclient.resources_31bf3856ad364e35_10.0.19041.1_en-us_f2c6d0a9ba4a3c5e";
    let c = parse_component_name(abbrev).unwrap();
    assert_eq!(c.name, "microsoft-windows-c..ityclient.resources");
    assert_eq!(c.culture, "en-us");
    assert_eq!(c.version, "10.0.19041.1");
    let serbian =
        "wow64_microsoft-windows-i..ersal-tlb.resources_31bf3856ad364e35_10.0.22621.1_sr-latn-rs_0123456789abcdef";
    assert_eq!(parse_component_name(serbian).unwrap().culture, "sr-latn-rs");
    // Parsed from the right: an underscore in the name does not confuse it.
    let underscore = "msil_system.web_regularexpressions_b03f5f7f11d50a3a_4.0.15805.0_none_3d3c8a3b0e2f1a4c";
    let c = parse_component_name(underscore).unwrap();
    assert_eq!(c.arch, "msil");
    assert_eq!(c.name, "system.web_regularexpressions");
    assert_eq!(c.public_key_token, "b03f5f7f11d50a3a");
}

#[test]
fn rejects_garbage_and_near_misses() {
    let good = EXAMPLES[0];
    assert!(parse_component_name(good).is_some());
    let bad = [
        "",
        "_",
        "_____",
        "Manifests",
        "pending.xml",
        "Catalogs",
        // token one digit short / long / not hex
        "amd64_microsoft-windows-servicingstack_31bf3856ad364e3_10.0.26100.5074_none_a5532eb7772ad4c4",
        "amd64_microsoft-windows-servicingstack_31bf3856ad364e355_10.0.26100.5074_none_a5532eb7772ad4c4",
        "amd64_microsoft-windows-servicingstack_31bf3856ad364g35_10.0.26100.5074_none_a5532eb7772ad4c4",
        // 3-part and 5-part versions, empty and non-numeric parts
        "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.26100_none_a5532eb7772ad4c4",
        "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.26100.5074.1_none_a5532eb7772ad4c4",
        "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0..5074_none_a5532eb7772ad4c4",
        "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.x.5074_none_a5532eb7772ad4c4",
        // trailing junk
        "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.26100.5074_none_a5532eb7772ad4c4.bak",
        "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.26100.5074_none_a5532eb7772ad4c4_old",
        "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.26100.5074_none_a5532eb7772ad4c4 ",
        // hash wrong length
        "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.26100.5074_none_a5532eb7772ad4c",
        // missing / empty fields
        "microsoft-windows-servicingstack_31bf3856ad364e35_10.0.26100.5074_none_a5532eb7772ad4c4",
        "amd64__31bf3856ad364e35_10.0.26100.5074_none_a5532eb7772ad4c4",
        "_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.26100.5074_none_a5532eb7772ad4c4",
        "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.26100.5074__a5532eb7772ad4c4",
        "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.26100.5074_-en_a5532eb7772ad4c4",
        // spaces and controls
        "amd64_microsoft windows-servicingstack_31bf3856ad364e35_10.0.26100.5074_none_a5532eb7772ad4c4",
        "amd64_microsoft-windows-servicingstack\n_31bf3856ad364e35_10.0.26100.5074_none_a5532eb7772ad4c4",
    ];
    for name in bad {
        assert_eq!(parse_component_name(name), None, "{name:?}");
    }
}

#[test]
fn never_panics_on_odd_unicode() {
    let odd = [
        "é",
        "🦀",
        "_é_é_é_é_é",
        "\u{0}",
        "\u{202e}amd64",
        "a\u{0301}_b_c_d_e_f",
        "ß_ß_ß_ß_ß_ß",
        "amd64_ﬁ_31bf3856ad364e35_10.0.26100.5074_none_a5532eb7772ad4c4",
        "amd64_x_３１bf3856ad364e35_10.0.26100.5074_none_a5532eb7772ad4c4",
        "amd64_x_31bf3856ad364e35_１0.0.26100.5074_none_a5532eb7772ad4c4",
    ];
    for s in odd {
        assert_eq!(parse_component_name(s), None, "{s:?}");
        let _ = crate::version::compare(s, V1);
    }
    // Insert multi-byte characters at every position of a valid name.
    let good = EXAMPLES[2];
    for insert in ["é", "€", "🦀", "\u{0301}", "\u{ffff}"] {
        for i in 0..=good.len() {
            let mut s = good.to_string();
            s.insert_str(i, insert);
            assert_eq!(parse_component_name(&s), None, "{s:?}");
            let _ = crate::version::compare(&s, good);
        }
        // Replace each byte with the character.
        for i in 0..good.len() {
            let s = format!("{}{}{}", &good[..i], insert, &good[i + 1..]);
            assert_eq!(parse_component_name(&s), None, "{s:?}");
        }
    }
    assert_eq!(parse_component_name(&"_".repeat(10_000)), None);
    assert_eq!(parse_component_name(&"a".repeat(100_000)), None);
}

// ---- inventory --------------------------------------------------------

#[test]
fn inventories_a_healthy_tree() {
    let (_tmp, winsxs) = new_winsxs();
    healthy(&winsxs, V1, 300);
    let total = fs::read_dir(&winsxs).unwrap().count();
    let inv = inventory(&winsxs).unwrap();
    assert_eq!(inv.winsxs, winsxs);
    assert_eq!(inv.entries_scanned, total);
    let got: Vec<(&str, &str)> = inv.folders.iter().map(|f| (f.family.as_str(), f.component.arch.as_str())).collect();
    assert_eq!(
        got,
        [
            ("servicingstack", "amd64"),
            ("servicingstack", "x86"),
            ("servicingstack-inetsrv", "amd64"),
            ("servicingstack-inetsrv", "x86"),
            ("servicingstack-onecore", "amd64"),
            ("servicingstack-onecore", "x86"),
        ]
    );
    for f in &inv.folders {
        assert_eq!(f.error, None, "{f:?}");
        assert!(!f.is_empty());
        assert_eq!(f.has_cbscore, f.is_main(), "{f:?}");
        assert_eq!(f.path, winsxs.join(&f.dir_name));
        assert_eq!(f.component.version, V1);
    }
    assert_eq!(find(&inv, "amd64", "servicingstack").entries, Some(4));
    assert_eq!(find(&inv, "x86", "servicingstack-onecore").entries, Some(1));
    assert_eq!(inv.versions(), [V1]);
    assert_eq!(inv.of_version(V1).len(), 6);
    assert!(inv.of_version("10.0.26100.1").is_empty());
    assert!(inv.main_folder(V1, "amd64").unwrap().has_cbscore);
    assert!(inv.main_folder(V1, "AMD64").is_some());
    assert_eq!(inv.main_folder(V1, "x86").unwrap().component.arch, "x86");
    assert!(inv.main_folder(V1, "arm64").is_none());
    assert!(inv.main_folder("10.0.26100.1", "amd64").is_none());
}

#[test]
fn reports_an_empty_stack_folder() {
    let (_tmp, winsxs) = new_winsxs();
    make_stack(&winsxs, "amd64", "servicingstack", V1, main_files());
    make_stack(&winsxs, "amd64", "servicingstack-onecore", V1, &[]);
    make_stack(&winsxs, "amd64", "servicingstack-inetsrv", V1, &["a.dll"]);
    let inv = inventory(&winsxs).unwrap();
    let onecore = find(&inv, "amd64", "servicingstack-onecore");
    assert!(onecore.is_empty());
    assert_eq!(onecore.entries, Some(0));
    assert_eq!(onecore.error, None);
    assert!(!onecore.is_main());
    assert!(!find(&inv, "amd64", "servicingstack").is_empty());
    assert!(!find(&inv, "amd64", "servicingstack-inetsrv").is_empty());
    assert_eq!(inv.folders.iter().filter(|f| f.is_empty()).count(), 1);
}

#[test]
fn reports_a_main_folder_without_cbscore() {
    let (_tmp, winsxs) = new_winsxs();
    make_stack(&winsxs, "amd64", "servicingstack", V1, &["TiWorker.exe", "wcp.dll"]);
    // A directory named cbscore.dll does not count either.
    let x86 = make_stack(&winsxs, "x86", "servicingstack", V1, &["wcp.dll"]);
    fs::create_dir(x86.join("cbscore.dll")).unwrap();
    let inv = inventory(&winsxs).unwrap();
    let main = inv.main_folder(V1, "amd64").unwrap();
    assert!(main.is_main());
    assert!(!main.has_cbscore);
    assert!(!main.is_empty());
    assert_eq!(main.entries, Some(2));
    assert_eq!(main.error, None);
    let x86 = inv.main_folder(V1, "x86").unwrap();
    assert!(!x86.has_cbscore);
    assert_eq!(x86.entries, Some(2));
}

#[test]
fn orders_two_versions() {
    let (_tmp, winsxs) = new_winsxs();
    // Lexicographically "863" > "5074"; numerically it is older.
    let old = "10.0.26100.863";
    healthy(&winsxs, V1, 50);
    for arch in ["amd64", "x86"] {
        make_stack(&winsxs, arch, "servicingstack", old, main_files());
        make_stack(&winsxs, arch, "servicingstack-onecore", old, &["a"]);
    }
    let inv = inventory(&winsxs).unwrap();
    assert_eq!(inv.versions(), [V1, old]);
    assert_eq!(inv.of_version(V1).len(), 6);
    assert_eq!(inv.of_version(old).len(), 4);
    assert_eq!(inv.main_folder(old, "x86").unwrap().component.version, old);
    assert_eq!(inv.main_folder(V1, "x86").unwrap().component.version, V1);
    // Sorted by family, arch, then version numerically.
    let amd64_main: Vec<&str> = inv
        .folders
        .iter()
        .filter(|f| f.is_main() && f.component.arch == "amd64")
        .map(|f| f.component.version.as_str())
        .collect();
    assert_eq!(amd64_main, [old, V1]);
    let mut sorted = inv.folders.clone();
    sorted.sort_by(|a, b| {
        (&a.family, &a.component.arch)
            .cmp(&(&b.family, &b.component.arch))
            .then_with(|| crate::version::compare(&a.component.version, &b.component.version))
            .then_with(|| a.dir_name.cmp(&b.dir_name))
    });
    assert_eq!(sorted, inv.folders);
    // A third, older, version from the 19041 line.
    make_stack(&winsxs, "amd64", "servicingstack", "10.0.19041.4160", main_files());
    make_stack(&winsxs, "wow64", "servicingstack", "10.0.19041.1220", main_files());
    let inv = inventory(&winsxs).unwrap();
    assert_eq!(inv.versions(), [V1, old, "10.0.19041.4160", "10.0.19041.1220"]);
}

#[test]
fn handles_case_differences() {
    let tmp = tempfile::tempdir().unwrap();
    let windows = tmp.path().join("Windows");
    fs::create_dir(&windows).unwrap();
    fs::create_dir(windows.join("WinSxS")).unwrap();
    // Exact match first, then case-insensitive.
    assert_eq!(crate::sources::winroot::child(&windows, "WinSxS"), Some(windows.join("WinSxS")));
    let found = crate::sources::winroot::child(&windows, "winsxs").unwrap();
    assert!(found.file_name().unwrap().eq_ignore_ascii_case("winsxs"));
    assert!(found.is_dir());
    assert_eq!(crate::sources::winroot::child(&windows, "WINSXS").map(|p| p.is_dir()), Some(true));
    assert_eq!(crate::sources::winroot::child(&windows, "System32"), None);
    assert_eq!(crate::sources::winroot::child(&tmp.path().join("nope"), "WinSxS"), None);
    for bad in ["", ".", "..", "a/b", "a\\b"] {
        assert_eq!(crate::sources::winroot::child(&windows, bad), None, "{bad:?}");
    }

    // Upper-case names on disk and CBSCORE.DLL.
    let winsxs = windows.join("WinSxS");
    let upper = "AMD64_Microsoft-Windows-ServicingStack_31BF3856AD364E35_10.0.26100.5074_None_A5532EB7772AD4C4";
    fs::create_dir(winsxs.join(upper)).unwrap();
    fs::write(winsxs.join(upper).join("CBSCORE.DLL"), b"MZ").unwrap();
    let onecore =
        "amd64_Microsoft-Windows-ServicingStack-OneCore_31bf3856ad364e35_10.0.26100.5074_none_da44c3c8cf2df25a";
    fs::create_dir(winsxs.join(onecore)).unwrap();
    fs::write(winsxs.join(onecore).join("Wcp.Dll"), b"MZ").unwrap();
    let inv = inventory(&found).unwrap();
    assert_eq!(inv.folders.len(), 2);
    let main = inv.main_folder(V1, "amd64").unwrap();
    assert_eq!(main.dir_name, upper);
    assert_eq!(main.family, "servicingstack");
    assert!(main.has_cbscore);
    assert_eq!(find(&inv, "amd64", "servicingstack-onecore").entries, Some(1));
}

#[test]
fn missing_winsxs_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("Windows").join("WinSxS");
    let err = inventory(&missing).unwrap_err();
    assert!(err.contains(&missing.display().to_string()), "{err}");
    assert!(err.contains("no such file or folder"), "{err}");
    let file = tmp.path().join("WinSxS");
    fs::write(&file, b"").unwrap();
    let err = inventory(&file).unwrap_err();
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(err.contains("not a directory"), "{err}");
}

#[test]
fn a_file_named_like_a_stack_folder_is_reported() {
    let (_tmp, winsxs) = new_winsxs();
    make_stack(&winsxs, "amd64", "servicingstack-onecore", V1, &["a"]);
    let name = stack_name("amd64", "servicingstack", V1, 1);
    fs::write(winsxs.join(&name), b"not a folder").unwrap();
    let inv = inventory(&winsxs).unwrap();
    assert_eq!(inv.folders.len(), 2);
    let f = inv.main_folder(V1, "amd64").unwrap();
    assert_eq!(f.dir_name, name);
    assert_eq!(f.entries, None);
    assert!(!f.has_cbscore);
    assert!(!f.is_empty());
    assert_eq!(f.error.as_deref(), Some("not a directory"));
    assert_eq!(inv.versions(), [V1]);
}

#[cfg(unix)]
#[test]
fn an_unreadable_stack_folder_sets_error() {
    use std::os::unix::fs::PermissionsExt;
    let (_tmp, winsxs) = new_winsxs();
    let dir = make_stack(&winsxs, "amd64", "servicingstack", V1, main_files());
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o000)).unwrap();
    // Root (or CAP_DAC_READ_SEARCH) reads it anyway: nothing to check then.
    let privileged = fs::read_dir(&dir).is_ok();
    let inv = inventory(&winsxs);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let inv = inv.unwrap();
    let f = inv.main_folder(V1, "amd64").unwrap();
    if privileged {
        assert_eq!(f.entries, Some(4));
        return;
    }
    assert_eq!(f.entries, None);
    assert!(!f.is_empty());
    assert!(!f.has_cbscore);
    assert!(f.error.as_deref().unwrap().starts_with("permission denied"), "{f:?}");
}

#[cfg(unix)]
#[test]
fn symlink_loops_do_not_hang() {
    use std::os::unix::fs::symlink;
    let (_tmp, winsxs) = new_winsxs();
    let dir = make_stack(&winsxs, "amd64", "servicingstack", V1, main_files());
    symlink(&dir, dir.join("self")).unwrap();
    symlink(".", dir.join("dot")).unwrap();
    symlink("b", dir.join("a")).unwrap();
    symlink("a", dir.join("b")).unwrap();
    symlink(&winsxs, dir.join("up")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let w = winsxs.clone();
    std::thread::spawn(move || {
        let _ = tx.send(inventory(&w));
    });
    let inv = rx.recv_timeout(Duration::from_secs(30)).expect("inventory hung").unwrap();
    let f = inv.main_folder(V1, "amd64").unwrap();
    assert_eq!(f.entries, Some(9));
    assert!(f.has_cbscore);
    assert_eq!(f.error, None);
}

#[cfg(unix)]
#[test]
fn a_symlink_named_like_a_stack_folder_is_not_followed() {
    use std::os::unix::fs::symlink;
    let (tmp, winsxs) = new_winsxs();
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::write(elsewhere.join("cbscore.dll"), b"MZ").unwrap();
    let name = stack_name("amd64", "servicingstack", V1, 3);
    symlink(&elsewhere, winsxs.join(&name)).unwrap();
    let inv = inventory(&winsxs).unwrap();
    let f = inv.main_folder(V1, "amd64").unwrap();
    assert_eq!(f.entries, None);
    assert!(!f.has_cbscore);
    assert!(f.error.as_deref().unwrap().contains("not followed"), "{f:?}");
}

#[cfg(unix)]
#[test]
fn non_utf8_names_are_skipped_and_counted() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let (_tmp, winsxs) = new_winsxs();
    make_stack(&winsxs, "amd64", "servicingstack", V1, main_files());
    let mut raw = stack_name("x86", "servicingstack", V1, 9).into_bytes();
    raw.push(0xff);
    // Some file systems (APFS) refuse such names; nothing to test then.
    if fs::create_dir(winsxs.join(OsStr::from_bytes(&raw))).is_err() {
        return;
    }
    let inv = inventory(&winsxs).unwrap();
    assert_eq!(inv.entries_scanned, 2);
    assert_eq!(inv.folders.len(), 1);
}

#[test]
fn entries_are_counted_up_to_the_cap() {
    let (_tmp, winsxs) = new_winsxs();
    let dir = make_stack(&winsxs, "amd64", "servicingstack-onecore", V1, &[]);
    for i in 0..ENTRY_CAP + 5 {
        fs::File::create(dir.join(format!("f{i}"))).unwrap();
    }
    let inv = inventory(&winsxs).unwrap();
    assert_eq!(inv.folders[0].entries, Some(ENTRY_CAP));
}

#[test]
fn many_unrelated_folders_are_listed_not_opened() {
    // Speed on a real 20,000-entry WinSxS is measured by the benchmark,
    // not here; this checks the shape of the result on a large folder.
    let (_tmp, winsxs) = new_winsxs();
    healthy(&winsxs, V1, 2_000);
    let inv = inventory(&winsxs).unwrap();
    assert!(inv.entries_scanned > 2_000);
    assert_eq!(inv.folders.len(), 6);
}
