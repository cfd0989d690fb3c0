use super::*;
use std::collections::HashSet;

// --- parse_code ---------------------------------------------------------

#[test]
fn parses_hex_forms() {
    assert_eq!(parse_code("0x80070003"), Some(0x8007_0003));
    assert_eq!(parse_code("0X80070003"), Some(0x8007_0003));
    assert_eq!(parse_code("0x800f0922"), Some(0x800F_0922));
    assert_eq!(parse_code("0x800F0922"), Some(0x800F_0922));
    assert_eq!(parse_code("80070003"), Some(0x8007_0003));
    assert_eq!(parse_code("8007000d"), Some(0x8007_000D));
    assert_eq!(parse_code("00000003"), Some(3));
    assert_eq!(parse_code("0x3"), Some(3));
    assert_eq!(parse_code("0x00000000"), Some(0));
    assert_eq!(parse_code("0xFFFFFFFF"), Some(u32::MAX));
    assert_eq!(parse_code("  0x3\t"), Some(3));
    assert_eq!(parse_code("(00000003)"), Some(3));
    assert_eq!(parse_code("[0x80070005]"), Some(0x8007_0005));
}

#[test]
fn parses_decimal_forms() {
    assert_eq!(parse_code("3"), Some(3));
    assert_eq!(parse_code("0"), Some(0));
    assert_eq!(parse_code("1392"), Some(1392));
    assert_eq!(parse_code("4294967295"), Some(u32::MAX));
    assert_eq!(parse_code("-2147024893"), Some(0x8007_0003));
    assert_eq!(parse_code("-2146498530"), Some(0x800F_081E));
    assert_eq!(parse_code("-2147483648"), Some(0x8000_0000));
    assert_eq!(parse_code("-1"), Some(u32::MAX));
    assert_eq!(parse_code("-0"), Some(0));
}

#[test]
fn parses_symbolic_forms() {
    assert_eq!(parse_code("ERROR_PATH_NOT_FOUND"), Some(3));
    assert_eq!(parse_code("E_FAIL"), Some(0x8000_4005));
    assert_eq!(parse_code("E_INVALIDARG"), Some(0x8007_0057));
    assert_eq!(parse_code("CBS_E_SOURCE_MISSING"), Some(0x800F_081F));
    assert_eq!(parse_code("MOSETUP_E_COMPAT_SYSREQ_BLOCK"), Some(0xC190_0200));
    assert_eq!(parse_code("WU_E_PT_WINHTTP_NAME_NOT_RESOLVED"), Some(0x8024_402C));
    assert_eq!(parse_code("ERROR_WINHTTP_NAME_NOT_RESOLVED"), Some(12007));
    assert_eq!(parse_code("HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)"), Some(0x8007_0002));
    assert_eq!(parse_code("HRESULT_FROM_WIN32( ERROR_SXS_ASSEMBLY_MISSING )"), Some(0x8007_3701));
    assert_eq!(parse_code("HRESULT_FROM_WIN32(14098)"), Some(0x8007_3712));
    assert_eq!(parse_code("HRESULT_FROM_WIN32(0x3)"), Some(0x8007_0003));
    assert_eq!(parse_code("HRESULT_FROM_WIN32(ERROR_SUCCESS)"), Some(0));
    // The macro leaves values that are already HRESULT failures alone.
    assert_eq!(parse_code("HRESULT_FROM_WIN32(E_FAIL)"), Some(0x8000_4005));
    // Names are exact.
    assert_eq!(parse_code("e_fail"), None);
    assert_eq!(parse_code("ERROR_PATH_NOT_FOUNDX"), None);
}

#[test]
fn parses_setup_codes() {
    assert_eq!(parse_code("0xC1900101-0x20017"), Some(0xC190_0101));
    assert_eq!(parse_code("0x8007000D-0x2000C"), Some(0x8007_000D));
    assert_eq!(parse_setup_code("0xC1900101-0x20017"), Some((0xC190_0101, Some(0x20017))));
    assert_eq!(parse_setup_code("0xC1900101 - 0x20017"), Some((0xC190_0101, Some(0x20017))));
    assert_eq!(parse_setup_code("0x8007000D - 0x2000c"), Some((0x8007_000D, Some(0x2000C))));
    assert_eq!(parse_setup_code("800704B8 - 0x3001A"), Some((0x8007_04B8, Some(0x3001A))));
    assert_eq!(parse_setup_code("0xC1900101"), Some((0xC190_0101, None)));
    assert_eq!(parse_setup_code("-2147024893"), Some((0x8007_0003, None)));
    assert_eq!(parse_setup_code("E_FAIL"), Some((0x8000_4005, None)));
    assert_eq!(parse_setup_code("0xC1900101-"), None);
    assert_eq!(parse_setup_code("0xC1900101-0xZZ"), None);
    assert_eq!(parse_setup_code("-0x20017"), None);
}

#[test]
fn rejects_garbage() {
    for s in [
        "",
        " ",
        "0x",
        "0X",
        "0xZZ",
        "0x-5",
        "0x+5",
        "+5",
        "-",
        "--1",
        "- 1",
        "-2147483649",
        "-99999999999999999999999",
        "99999999999999",
        "4294967296",
        "0x1234567890",
        "0x100000000",
        "1234567G",
        "123456789A",
        "3.0",
        "0x3.",
        "0x80070003h",
        "()",
        "[]",
        "HRESULT_FROM_WIN32(",
        "HRESULT_FROM_WIN32()",
        "HRESULT_FROM_WIN32(NOT_A_NAME)",
        "HRESULT_FROM_WIN32(HRESULT_FROM_WIN32(3))",
        "NOT_A_NAME",
        "é",
        "0x８",
        "３",
        "０ｘ３",
        "\u{0}",
        "ERROR_PATH_NOT_FOUND\u{301}",
        "\u{1F4A9}-\u{1F4A9}",
    ] {
        assert_eq!(parse_code(s), None, "{s:?}");
    }
}

#[test]
fn never_panics_on_odd_input() {
    let seeds = [
        "0xC1900101 - 0x20017",
        "HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)",
        "-2147024893",
        "(é0x８-３)",
        "[\u{1F4A9}]",
    ];
    for seed in seeds {
        // Every prefix and suffix at every char boundary.
        for (i, _) in seed.char_indices() {
            let _ = parse_code(&seed[i..]);
            let _ = parse_code(&seed[..i]);
            let _ = parse_setup_code(&seed[i..]);
        }
    }
    let long = "0".repeat(100_000);
    assert_eq!(parse_code(&format!("0x{long}3")), Some(3));
    let _ = parse_code(&"-".repeat(10_000));
    let _ = parse_code(&"(".repeat(10_000));
    let _ = parse_code(&"HRESULT_FROM_WIN32(".repeat(1_000));
}

// --- decode -------------------------------------------------------------

#[test]
fn decodes_win32_hresult() {
    let d = decode(0x8007_0003);
    assert_eq!(d.hex, "0x80070003");
    assert!(d.failure);
    assert_eq!(d.facility, 7);
    assert_eq!(d.facility_name, Some("FACILITY_WIN32"));
    assert_eq!(d.code_part, 3);
    assert_eq!(d.win32, Some(3));
    assert_eq!(d.name, Some("ERROR_PATH_NOT_FOUND"));
    assert_eq!(d.message, Some("The system cannot find the path specified."));
    // HRESULT_FROM_WIN32 codes take the Win32 name even where winerror.h
    // has an E_* alias.
    assert_eq!(decode(0x8007_0057).name, Some("ERROR_INVALID_PARAMETER"));
    assert_eq!(decode(0x8007_3701).name, Some("ERROR_SXS_ASSEMBLY_MISSING"));
    assert_eq!(decode(0x8007_36B3).name, Some("ERROR_SXS_ASSEMBLY_NOT_FOUND"));
    assert_eq!(decode(0x8007_2EE7).name, Some("ERROR_INTERNET_NAME_NOT_RESOLVED"));
    assert_eq!(decode(0x8007_0BC9).name, Some("ERROR_FAIL_REBOOT_REQUIRED"));
    assert_eq!(decode(0x8007_06BA).name, Some("RPC_S_SERVER_UNAVAILABLE"));
}

#[test]
fn decodes_bare_win32() {
    let d = decode(3);
    assert_eq!(d.hex, "0x00000003");
    assert!(!d.failure);
    assert_eq!(d.facility, 0);
    assert_eq!(d.facility_name, None);
    assert_eq!(d.code_part, 3);
    assert_eq!(d.win32, Some(3));
    assert_eq!(d.name, Some("ERROR_PATH_NOT_FOUND"));
    assert_eq!(decode(0x490).name, Some("ERROR_NOT_FOUND"));
    assert_eq!(decode(0x4C7).name, Some("ERROR_CANCELLED"));
    assert_eq!(decode(0xBC2).name, Some("ERROR_SUCCESS_REBOOT_REQUIRED"));
    assert_eq!(decode(0).name, Some("ERROR_SUCCESS"));
}

#[test]
fn decodes_cbs() {
    let d = decode(0x800F_081F);
    assert_eq!(d.hex, "0x800F081F");
    assert!(d.failure);
    assert_eq!(d.facility, 15);
    assert_eq!(d.facility_name, Some("FACILITY_SETUPAPI"));
    assert_eq!(d.code_part, 0x081F);
    assert_eq!(d.win32, None);
    assert_eq!(d.name, Some("CBS_E_SOURCE_MISSING"));
    assert!(d.message.is_some());

    let d = decode(0x800F_0922);
    assert_eq!(d.hex, "0x800F0922");
    assert_eq!(d.name, Some("CBS_E_INSTALLERS_FAILED"));
    assert_eq!(d.message, Some("Processing advanced installers and generic commands failed."));
    assert_eq!(decode(0x800F_0831).name, Some("CBS_E_STORE_CORRUPTION"));
    assert_eq!(decode(0x800F_081E).name, Some("CBS_E_NOT_APPLICABLE"));
    assert_eq!(decode(0x800F_0984).name, Some("PSFX_E_MATCHING_BINARY_MISSING"));
    assert_eq!(decode(0x800F_0203).name, Some("SPAPI_E_NO_DRIVER_SELECTED"));
}

#[test]
fn decodes_setupapi_application_codes() {
    let d = decode(0xE000_0203);
    assert_eq!(d.name, Some("ERROR_NO_DRIVER_SELECTED"));
    assert_eq!(d.facility_name, None);
    assert_eq!(d.message, decode(0x800F_0203).message);
}

#[test]
fn decodes_windows_update() {
    let d = decode(0x8024_402C);
    assert_eq!(d.hex, "0x8024402C");
    assert_eq!(d.facility, 36);
    assert_eq!(d.facility_name, Some("FACILITY_WINDOWSUPDATE"));
    assert_eq!(d.name, Some("WU_E_PT_WINHTTP_NAME_NOT_RESOLVED"));
    assert!(d.message.is_some());
    assert_eq!(decode(0x8024_0017).name, Some("WU_E_NOT_APPLICABLE"));
    assert_eq!(decode(0x8024_0022).name, Some("WU_E_ALL_UPDATES_FAILED"));
    assert_eq!(decode(0x8024_200D).name, Some("WU_E_UH_NEEDANOTHERDOWNLOAD"));
    assert_eq!(decode(0x8024_000B).name, Some("WU_E_CALL_CANCELLED"));
    assert_eq!(decode(0x8024_0FFF).name, Some("WU_E_UNEXPECTED"));
    assert_eq!(decode(0x8024_4019).name, Some("WU_E_PT_HTTP_STATUS_NOT_FOUND"));
    assert_eq!(decode(0x80D0_2002).name, Some("DO_E_DOWNLOAD_NO_PROGRESS"));
    assert_eq!(decode(0x8020_0053).name, Some("BG_E_VALIDATION_FAILED"));
}

#[test]
fn decodes_setup_codes() {
    let d = decode(0xC190_0101);
    assert_eq!(d.hex, "0xC1900101");
    assert!(d.failure);
    assert_eq!(d.facility, 0x190);
    assert_eq!(d.code_part, 0x0101);
    assert_eq!(d.win32, None);
    assert_eq!(d.name, Some("MOSETUP_E_SETUP_PLATFORM"));
    assert!(d.message.is_some());
    assert_eq!(decode(0xC190_0200).name, Some("MOSETUP_E_COMPAT_SYSREQ_BLOCK"));
    assert_eq!(decode(0xC190_020E).name, Some("MOSETUP_E_INSTALLDISKSPACE_BLOCK"));
    assert_eq!(decode(0xC190_0107).name, Some("MOSETUP_E_CLEANUP_PENDING"));
    // Known by its message only.
    let d = decode(0xC142_0127);
    assert_eq!(d.name, None);
    assert!(d.message.is_some());
}

#[test]
fn decodes_generic_hresults() {
    assert_eq!(decode(0x8000_4005).name, Some("E_FAIL"));
    assert_eq!(decode(0x8000_FFFF).name, Some("E_UNEXPECTED"));
    assert_eq!(decode(0x800B_0100).name, Some("TRUST_E_NOSIGNATURE"));
    assert_eq!(decode(0x8009_2004).name, Some("CRYPT_E_NOT_FOUND"));
    assert_eq!(decode(0x8004_1010).name, Some("WBEM_E_INVALID_CLASS"));
    assert_eq!(decode(0xC000_0005).name, Some("STATUS_ACCESS_VIOLATION"));
}

#[test]
fn unknown_codes_decode_to_fields_only() {
    let d = decode(0x8007_1234);
    assert_eq!(d.name, None);
    assert_eq!(d.message, None);
    assert_eq!(d.win32, Some(0x1234));
    assert_eq!(d.to_string(), "0x80071234 (FACILITY_WIN32, code 0x1234)");
    assert_eq!(decode(0xC7FF_0001).to_string(), "0xC7FF0001 (facility 0x7FF, code 0x1)");
    assert_eq!(decode(0xFFFF).to_string(), "0x0000FFFF (Win32 error 65535)");
}

#[test]
fn related_win32_rules() {
    assert_eq!(related_win32(3), Some(3));
    assert_eq!(related_win32(0xFFFF), Some(0xFFFF));
    assert_eq!(related_win32(0x8007_0005), Some(5));
    assert_eq!(related_win32(0x800F_081F), None);
    assert_eq!(related_win32(0x0001_0000), None);
    assert_eq!(related_win32(0xC007_0005), None);
}

// --- extend codes -------------------------------------------------------

#[test]
fn decodes_extend_codes() {
    let e = decode_extend(0x20017);
    assert_eq!(e.raw, 0x20017);
    assert_eq!(e.phase, 2);
    assert_eq!(e.phase_name, Some("SP_EXECUTION_SAFE_OS"));
    assert_eq!(e.operation, 0x17);
    assert_eq!(e.operation_name, Some("SP_EXECUTION_OP_BOOT"));

    let e = decode_extend(0x2000C);
    assert_eq!(e.phase_name, Some("SP_EXECUTION_SAFE_OS"));
    assert_eq!(e.operation, 0x0C);
    assert_eq!(e.operation_name, Some("SP_EXECUTION_OP_APPLY_IMAGE"));

    let e = decode_extend(0x4000D);
    assert_eq!(e.phase_name, Some("SP_EXECUTION_OOBE_BOOT"));
    assert_eq!(e.operation_name, Some("SP_EXECUTION_OP_MIGRATE_DATA"));
    assert_eq!(decode_extend(0x30018).operation_name, Some("SP_EXECUTION_OP_SYSPREP"));

    let e = decode_extend(0x90099);
    assert_eq!((e.phase, e.phase_name), (9, None));
    assert_eq!((e.operation, e.operation_name), (0x99, None));
}

#[test]
fn setup_tables_are_sorted_and_complete() {
    for (i, &(k, _)) in SETUP_OPERATIONS.iter().enumerate() {
        assert_eq!(k, i as u32);
    }
    for (i, &(k, _)) in SETUP_PHASES.iter().enumerate() {
        assert_eq!(k, i as u32);
    }
}

// --- Display ------------------------------------------------------------

#[test]
fn display() {
    assert_eq!(
        decode(0x8007_0003).to_string(),
        "0x80070003 ERROR_PATH_NOT_FOUND: The system cannot find the path specified."
    );
    assert_eq!(decode(3).to_string(), "0x00000003 ERROR_PATH_NOT_FOUND: The system cannot find the path specified.");
    assert_eq!(decode(0x800F_0828).to_string(), "0x800F0828 CBS_E_INSUFFICIENT_DISK_SPACE");
    assert!(decode(0xC142_0127).to_string().starts_with("0xC1420127: "));
}

// --- tables -------------------------------------------------------------

fn raw_rows(tsv: &'static str) -> Vec<(u32, &'static str)> {
    data_lines(tsv)
        .map(|l| {
            let e = parse_entry_line(l).unwrap_or_else(|| panic!("malformed row {l:?}"));
            assert_eq!(l.split('\t').count(), 3, "row {l:?}");
            (e.code, e.name.unwrap_or(""))
        })
        .collect()
}

#[test]
fn every_data_row_parses() {
    let t = tables();
    assert_eq!(t.win32.len(), data_lines(WIN32_TSV).count());
    assert_eq!(t.hresult.len(), data_lines(HRESULT_TSV).count());
    assert_eq!(parse_aliases(ALIASES_TSV).len(), data_lines(ALIASES_TSV).count());
    assert!(t.win32.len() > 3000);
    assert!(t.hresult.len() > 2000);
    assert!(t.win32.iter().all(|e| e.code <= 0xFFFF && e.name.is_some()));
    assert!(t.hresult.iter().all(|e| e.name.is_some() || e.message.is_some()));
}

#[test]
fn no_code_has_two_names() {
    for tsv in [WIN32_TSV, HRESULT_TSV] {
        let mut seen: HashMap<u32, &str> = HashMap::new();
        for (code, name) in raw_rows(tsv) {
            if let Some(prev) = seen.insert(code, name) {
                panic!("0x{code:08X} listed twice: {prev} / {name}");
            }
        }
    }
}

#[test]
fn no_name_has_two_codes() {
    let mut seen: HashMap<&str, u32> = HashMap::new();
    let rows = raw_rows(WIN32_TSV)
        .into_iter()
        .chain(raw_rows(HRESULT_TSV))
        .filter(|(_, n)| !n.is_empty())
        .map(|(c, n)| (n, c))
        .chain(parse_aliases(ALIASES_TSV));
    for (name, code) in rows {
        if let Some(prev) = seen.insert(name, code) {
            panic!("{name} is both 0x{prev:08X} and 0x{code:08X}");
        }
    }
}

#[test]
fn every_name_round_trips() {
    let t = tables();
    let mut names = HashSet::new();
    for e in t.win32.iter().chain(t.hresult.iter()) {
        if let Some(name) = e.name {
            assert_eq!(parse_code(name), Some(e.code), "{name}");
            names.insert(name);
        }
    }
    for e in &t.win32 {
        let name = e.name.unwrap_or_default();
        let wrapped = format!("HRESULT_FROM_WIN32({name})");
        assert_eq!(parse_code(&wrapped), Some(hresult_from_win32(e.code)), "{wrapped}");
    }
    for (name, code) in parse_aliases(ALIASES_TSV) {
        assert_eq!(parse_code(name), Some(code), "{name}");
        names.insert(name);
    }
    assert_eq!(names.len(), t.by_name.len());
}

#[test]
fn names_in_tables_decode_back() {
    // Every HRESULT-table name that is not shadowed by the Win32 rule
    // decodes to itself.
    let t = tables();
    for e in &t.hresult {
        if related_win32(e.code).is_some() {
            continue;
        }
        assert_eq!(decode(e.code).name, e.name, "0x{:08X}", e.code);
    }
    for e in &t.win32 {
        assert_eq!(decode(e.code).name, e.name);
        assert_eq!(decode(e.code | WIN32_HRESULT_BASE).name, e.name);
    }
}

#[test]
fn facility_table_is_sorted() {
    assert!(FACILITIES.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(FACILITIES.iter().all(|&(f, _)| f <= 0x7FF));
    assert_eq!(facility_name(36), Some("FACILITY_WINDOWSUPDATE"));
    assert_eq!(facility_name(15), Some("FACILITY_SETUPAPI"));
    assert_eq!(facility_name(5), None);
}
