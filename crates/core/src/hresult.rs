//! Windows error codes as they appear in servicing logs: parsing, decoding and
//! naming.
//!
//! Covers Win32 error codes (bare, or wrapped as `0x8007xxxx` HRESULTs),
//! generic COM/security HRESULTs, Component-Based Servicing (`CBS_E_*`,
//! `PSFX_E_*`), SetupAPI (`SPAPI_E_*` and the `0xE0000xxx` forms setupapi logs
//! print), Windows Update (`WU_E_*`), BITS (`BG_E_*`), Delivery Optimization
//! (`DO_E_*`), WMI (`WBEM_E_*`), a subset of NTSTATUS values, and Windows
//! Setup result codes (`MOSETUP_E_*`, `0xC19xxxxx`) with their extend codes
//! (`0xC1900101 - 0x20017`).
//!
//! The tables live in `data/*.tsv` (see the header of each file for its
//! sources) and are parsed once, on first use.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::Serialize;

const WIN32_TSV: &str = include_str!("../data/win32.tsv");
const HRESULT_TSV: &str = include_str!("../data/hresult.tsv");
const ALIASES_TSV: &str = include_str!("../data/aliases.tsv");

/// Severity bit of an HRESULT (1 = failure).
const SEVERITY_BIT: u32 = 0x8000_0000;
/// Customer bit: set on application-defined codes such as setupapi's `0xE0000xxx`.
const CUSTOMER_BIT: u32 = 0x2000_0000;
/// `HRESULT_FROM_WIN32` prefix: severity error, facility 7.
const WIN32_HRESULT_BASE: u32 = 0x8007_0000;

/// One decoded error code. Produced by [`decode`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decoded {
    /// The code as given.
    pub code: u32,
    /// `"0x"` and eight upper-case hex digits, e.g. `"0x800F0922"`.
    pub hex: String,
    /// The severity bit (bit 31) is set.
    pub failure: bool,
    /// The 11-bit facility field (bits 16..=26).
    pub facility: u16,
    /// `FACILITY_*` name of [`Self::facility`]; `None` for bare Win32 codes,
    /// customer-defined codes and unknown facilities.
    pub facility_name: Option<&'static str>,
    /// The low 16 bits.
    pub code_part: u16,
    /// The Win32 error this code carries: the code itself when it is below
    /// `0x10000`, the low 16 bits of a `0x8007xxxx` HRESULT. See [`related_win32`].
    pub win32: Option<u32>,
    /// Symbolic name; for `HRESULT_FROM_WIN32` codes, the Win32 name.
    pub name: Option<&'static str>,
    /// Message text, as Windows or Microsoft's documentation words it.
    pub message: Option<&'static str>,
}

/// A Windows Setup extend code (the part after the dash in
/// `0xC1900101 - 0x20017`): the setup phase in bits 16 and up, the operation
/// in the low 16 bits. Produced by [`decode_extend`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtendCode {
    pub raw: u32,
    pub phase: u32,
    /// `SP_EXECUTION_*`, e.g. `"SP_EXECUTION_SAFE_OS"`.
    pub phase_name: Option<&'static str>,
    pub operation: u32,
    /// `SP_EXECUTION_OP_*`, e.g. `"SP_EXECUTION_OP_BOOT"`.
    pub operation_name: Option<&'static str>,
}

/// Parses an error code as written in logs.
///
/// Accepted: `"0x80070003"`, `"0X80070003"`, eight bare hex digits
/// (`"80070003"`, `"00000003"`), `"0x3"`, decimal (`"3"`), negative decimal
/// i32 (`"-2147024893"`), symbolic names (`"ERROR_PATH_NOT_FOUND"` gives 3,
/// `"E_FAIL"`, `"CBS_E_SOURCE_MISSING"`; exact case),
/// `"HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)"` (gives `0x80070002`), and
/// setup codes with an extend code (`"0xC1900101-0x20017"`, of which the main
/// code is returned; see [`parse_setup_code`]). Surrounding whitespace and one
/// pair of enclosing parentheses or brackets (`"(00000003)"`) are ignored.
/// Returns `None` for anything else; never panics.
pub fn parse_code(s: &str) -> Option<u32> {
    parse_setup_code(s).map(|(code, _)| code)
}

/// Parses a setup result code with an optional extend code:
/// `"0xC1900101-0x20017"` and `"0xC1900101 - 0x20017"` give
/// `(0xC1900101, Some(0x20017))`; a plain code (any form [`parse_code`]
/// accepts) gives `(code, None)`. The extend code is read as hex, with or
/// without `0x`.
pub fn parse_setup_code(s: &str) -> Option<(u32, Option<u32>)> {
    let s = s.trim();
    // A dash at the very start is a minus sign, not a separator.
    let dash = s.char_indices().skip(1).find(|&(_, c)| c == '-').map(|(i, _)| i);
    match dash {
        None => parse_single(s).map(|code| (code, None)),
        Some(i) => {
            let main = parse_single(&s[..i])?;
            let ext = parse_extend_part(&s[i + 1..])?;
            Some((main, Some(ext)))
        }
    }
}

/// Decodes a code: HRESULT fields, symbolic name and message.
///
/// A code below `0x10000` is taken as a bare Win32 error (as setupapi and
/// others print them: `Error = 0x00000003`), so `decode(3)` names
/// `ERROR_PATH_NOT_FOUND`.
pub fn decode(code: u32) -> Decoded {
    let t = tables();
    let facility = ((code >> 16) & 0x7FF) as u16;
    let bare = code <= 0xFFFF;
    let facility_name = if bare || code & CUSTOMER_BIT != 0 { None } else { facility_name(facility) };
    let win32 = related_win32(code);
    let entry = win32.and_then(|w| find(&t.win32, w)).or_else(|| find(&t.hresult, code));
    Decoded {
        code,
        hex: format!("0x{code:08X}"),
        failure: code & SEVERITY_BIT != 0,
        facility,
        facility_name,
        code_part: (code & 0xFFFF) as u16,
        win32,
        name: entry.and_then(|e| e.name),
        message: entry.and_then(|e| e.message),
    }
}

/// Decodes a Windows Setup extend code: phase = `ext >> 16`, operation =
/// `ext & 0xFFFF` (Microsoft, "Upgrade error codes": 0x4000D is phase 4
/// `SP_EXECUTION_OOBE_BOOT`, operation 0x000D `SP_EXECUTION_OP_MIGRATE_DATA`).
pub fn decode_extend(ext: u32) -> ExtendCode {
    let phase = ext >> 16;
    let operation = ext & 0xFFFF;
    ExtendCode {
        raw: ext,
        phase,
        phase_name: lookup_small(SETUP_PHASES, phase),
        operation,
        operation_name: lookup_small(SETUP_OPERATIONS, operation),
    }
}

/// The Win32 error a code carries: `Some(code & 0xFFFF)` for `0x8007xxxx`
/// HRESULTs (`HRESULT_FROM_WIN32`), `Some(code)` for bare codes below
/// `0x10000`, otherwise `None`.
pub fn related_win32(code: u32) -> Option<u32> {
    if code <= 0xFFFF {
        Some(code)
    } else if code & 0xFFFF_0000 == WIN32_HRESULT_BASE {
        Some(code & 0xFFFF)
    } else {
        None
    }
}

impl fmt::Display for Decoded {
    /// `0x80070003 ERROR_PATH_NOT_FOUND: The system cannot find the path specified.`;
    /// for an unknown code `0x80071234 (FACILITY_WIN32, code 0x1234)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.name, self.message) {
            (Some(name), Some(message)) => write!(f, "{} {name}: {message}", self.hex),
            (Some(name), None) => write!(f, "{} {name}", self.hex),
            (None, Some(message)) => write!(f, "{}: {message}", self.hex),
            (None, None) if self.code <= 0xFFFF => {
                write!(f, "{} (Win32 error {})", self.hex, self.code)
            }
            (None, None) => match self.facility_name {
                Some(fac) => write!(f, "{} ({fac}, code 0x{:X})", self.hex, self.code_part),
                None => write!(f, "{} (facility 0x{:X}, code 0x{:X})", self.hex, self.facility, self.code_part),
            },
        }
    }
}

// ---------------------------------------------------------------------------
// Parsing helpers

/// One code in any single form (no extend code).
fn parse_single(s: &str) -> Option<u32> {
    let s = strip_enclosing(s.trim());
    if let Some(inner) = s.strip_prefix("HRESULT_FROM_WIN32(").and_then(|rest| rest.strip_suffix(')')) {
        return parse_number_or_name(inner.trim()).map(hresult_from_win32);
    }
    parse_number_or_name(s)
}

/// Removes one pair of enclosing `()` or `[]`.
fn strip_enclosing(s: &str) -> &str {
    for (open, close) in [('(', ')'), ('[', ']')] {
        if let Some(inner) = s.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
            return inner.trim();
        }
    }
    s
}

fn parse_number_or_name(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return parse_hex(hex);
    }
    if let Some(digits) = s.strip_prefix('-') {
        return parse_negative(digits);
    }
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return parse_hex(s);
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u32>().ok();
    }
    tables().by_name.get(s).copied()
}

/// Hex digits only (no sign, no prefix), value must fit in u32.
fn parse_hex(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// Digits after a minus sign: the magnitude of a negative i32.
fn parse_negative(digits: &str) -> Option<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.parse::<u64>().ok()?;
    let value = i32::try_from(-i64::try_from(magnitude).ok()?).ok()?;
    Some(value as u32)
}

/// The extend part of a setup code: hex, `0x` optional.
fn parse_extend_part(s: &str) -> Option<u32> {
    let s = s.trim();
    let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    parse_hex(hex)
}

/// The `HRESULT_FROM_WIN32` macro: values that are already zero or negative
/// as an HRESULT pass through.
fn hresult_from_win32(x: u32) -> u32 {
    if x as i32 <= 0 {
        x
    } else {
        (x & 0xFFFF) | WIN32_HRESULT_BASE
    }
}

// ---------------------------------------------------------------------------
// Tables

#[derive(Debug, Clone, Copy)]
struct Entry {
    code: u32,
    name: Option<&'static str>,
    message: Option<&'static str>,
}

struct Tables {
    /// Win32 codes (below 0x10000), sorted by code.
    win32: Vec<Entry>,
    /// Everything else, sorted by code.
    hresult: Vec<Entry>,
    /// Every symbolic name (both tables and the aliases) to its code.
    by_name: HashMap<&'static str, u32>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(build_tables)
}

fn build_tables() -> Tables {
    let mut win32 = parse_entries(WIN32_TSV);
    let mut hresult = parse_entries(HRESULT_TSV);
    // Stable sort keeps the first row of a (never expected) duplicate code first.
    win32.sort_by_key(|e| e.code);
    hresult.sort_by_key(|e| e.code);
    let mut by_name = HashMap::new();
    for e in win32.iter().chain(hresult.iter()) {
        if let Some(name) = e.name {
            by_name.entry(name).or_insert(e.code);
        }
    }
    for (name, code) in parse_aliases(ALIASES_TSV) {
        by_name.entry(name).or_insert(code);
    }
    Tables { win32, hresult, by_name }
}

/// Data lines of a TSV file: not empty, not a `#` comment.
fn data_lines(tsv: &'static str) -> impl Iterator<Item = &'static str> {
    tsv.lines().map(|l| l.strip_suffix('\r').unwrap_or(l)).filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// `code<TAB>name<TAB>message` rows; code is decimal or `0x` hex; empty
/// name/message mean none. Malformed rows are skipped (the tests check there
/// are none).
fn parse_entries(tsv: &'static str) -> Vec<Entry> {
    data_lines(tsv).filter_map(parse_entry_line).collect()
}

fn parse_entry_line(line: &'static str) -> Option<Entry> {
    let mut fields = line.splitn(3, '\t');
    let code = parse_table_code(fields.next()?)?;
    let name = fields.next()?;
    let message = fields.next().unwrap_or("");
    Some(Entry { code, name: non_empty(name), message: non_empty(message) })
}

/// `name<TAB>code` rows.
fn parse_aliases(tsv: &'static str) -> Vec<(&'static str, u32)> {
    data_lines(tsv)
        .filter_map(|line| {
            let (name, code) = line.split_once('\t')?;
            Some((non_empty(name)?, parse_table_code(code)?))
        })
        .collect()
}

fn parse_table_code(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(hex) => parse_hex(hex),
        None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        None => None,
    }
}

fn non_empty(s: &'static str) -> Option<&'static str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

fn find(table: &[Entry], code: u32) -> Option<&Entry> {
    table.binary_search_by_key(&code, |e| e.code).ok().map(|i| &table[i])
}

fn lookup_small(table: &[(u32, &'static str)], key: u32) -> Option<&'static str> {
    table.iter().find(|&&(k, _)| k == key).map(|&(_, name)| name)
}

fn facility_name(facility: u16) -> Option<&'static str> {
    FACILITIES.binary_search_by_key(&facility, |&(f, _)| f).ok().map(|i| FACILITIES[i].1)
}

/// `FACILITY_*` values from the Windows SDK's winerror.h (those that fit in 11
/// bits). Where winerror.h gives one value two names, the one used here is
/// the one relevant to servicing (9 SECURITY, not SSPI; 48 WINDOWS_SETUP,
/// not PLA). Sorted by value.
const FACILITIES: &[(u16, &str)] = &[
    (0, "FACILITY_NULL"),
    (1, "FACILITY_RPC"),
    (2, "FACILITY_DISPATCH"),
    (3, "FACILITY_STORAGE"),
    (4, "FACILITY_ITF"),
    (7, "FACILITY_WIN32"),
    (8, "FACILITY_WINDOWS"),
    (9, "FACILITY_SECURITY"),
    (10, "FACILITY_CONTROL"),
    (11, "FACILITY_CERT"),
    (12, "FACILITY_INTERNET"),
    (13, "FACILITY_MEDIASERVER"),
    (14, "FACILITY_MSMQ"),
    (15, "FACILITY_SETUPAPI"),
    (16, "FACILITY_SCARD"),
    (17, "FACILITY_COMPLUS"),
    (18, "FACILITY_AAF"),
    (19, "FACILITY_URT"),
    (20, "FACILITY_ACS"),
    (21, "FACILITY_DPLAY"),
    (22, "FACILITY_UMI"),
    (23, "FACILITY_SXS"),
    (24, "FACILITY_WINDOWS_CE"),
    (25, "FACILITY_HTTP"),
    (26, "FACILITY_USERMODE_COMMONLOG"),
    (27, "FACILITY_WER"),
    (31, "FACILITY_USERMODE_FILTER_MANAGER"),
    (32, "FACILITY_BACKGROUNDCOPY"),
    (33, "FACILITY_CONFIGURATION"),
    (34, "FACILITY_STATE_MANAGEMENT"),
    (35, "FACILITY_METADIRECTORY"),
    (36, "FACILITY_WINDOWSUPDATE"),
    (37, "FACILITY_DIRECTORYSERVICE"),
    (38, "FACILITY_GRAPHICS"),
    (39, "FACILITY_SHELL"),
    (40, "FACILITY_TPM_SERVICES"),
    (41, "FACILITY_TPM_SOFTWARE"),
    (42, "FACILITY_UI"),
    (43, "FACILITY_XAML"),
    (44, "FACILITY_ACTION_QUEUE"),
    (48, "FACILITY_WINDOWS_SETUP"),
    (49, "FACILITY_FVE"),
    (50, "FACILITY_FWP"),
    (51, "FACILITY_WINRM"),
    (52, "FACILITY_NDIS"),
    (53, "FACILITY_USERMODE_HYPERVISOR"),
    (54, "FACILITY_CMI"),
    (55, "FACILITY_USERMODE_VIRTUALIZATION"),
    (56, "FACILITY_USERMODE_VOLMGR"),
    (57, "FACILITY_BCD"),
    (58, "FACILITY_USERMODE_VHD"),
    (59, "FACILITY_USERMODE_HNS"),
    (60, "FACILITY_SDIAG"),
    (61, "FACILITY_WEBSERVICES"),
    (62, "FACILITY_WPN"),
    (63, "FACILITY_WINDOWS_STORE"),
    (64, "FACILITY_INPUT"),
    (65, "FACILITY_QUIC"),
    (66, "FACILITY_EAP"),
    (70, "FACILITY_IORING"),
    (80, "FACILITY_WINDOWS_DEFENDER"),
    (81, "FACILITY_OPC"),
    (82, "FACILITY_XPS"),
    (83, "FACILITY_RAS"),
    (84, "FACILITY_MBN"),
    (85, "FACILITY_EAS"),
    (98, "FACILITY_P2P_INT"),
    (99, "FACILITY_P2P"),
    (100, "FACILITY_DAF"),
    (101, "FACILITY_BLUETOOTH_ATT"),
    (102, "FACILITY_AUDIO"),
    (103, "FACILITY_STATEREPOSITORY"),
    (109, "FACILITY_VISUALCPP"),
    (112, "FACILITY_SCRIPT"),
    (113, "FACILITY_PARSE"),
    (120, "FACILITY_BLB"),
    (121, "FACILITY_BLB_CLI"),
    (122, "FACILITY_WSBAPP"),
    (128, "FACILITY_BLBUI"),
    (129, "FACILITY_USN"),
    (130, "FACILITY_USERMODE_VOLSNAP"),
    (131, "FACILITY_TIERING"),
    (133, "FACILITY_WSB_ONLINE"),
    (134, "FACILITY_ONLINE_ID"),
    (135, "FACILITY_DEVICE_UPDATE_AGENT"),
    (136, "FACILITY_DRVSERVICING"),
    (153, "FACILITY_DLS"),
    (160, "FACILITY_SOS"),
    (173, "FACILITY_OCP_UPDATE_AGENT"),
    (176, "FACILITY_DEBUGGERS"),
    (208, "FACILITY_DELIVERY_OPTIMIZATION"),
    (231, "FACILITY_USERMODE_SPACES"),
    (232, "FACILITY_USER_MODE_SECURITY_CORE"),
    (234, "FACILITY_USERMODE_LICENSING"),
    (256, "FACILITY_SPP"),
    (257, "FACILITY_DEPLOYMENT_SERVICES_SERVER"),
    (258, "FACILITY_DEPLOYMENT_SERVICES_IMAGING"),
    (259, "FACILITY_DEPLOYMENT_SERVICES_MANAGEMENT"),
    (260, "FACILITY_DEPLOYMENT_SERVICES_UTIL"),
    (261, "FACILITY_DEPLOYMENT_SERVICES_BINLSVC"),
    (263, "FACILITY_DEPLOYMENT_SERVICES_PXE"),
    (264, "FACILITY_DEPLOYMENT_SERVICES_TFTP"),
    (272, "FACILITY_DEPLOYMENT_SERVICES_TRANSPORT_MANAGEMENT"),
    (278, "FACILITY_DEPLOYMENT_SERVICES_DRIVER_PROVISIONING"),
    (289, "FACILITY_DEPLOYMENT_SERVICES_MULTICAST_SERVER"),
    (290, "FACILITY_DEPLOYMENT_SERVICES_MULTICAST_CLIENT"),
    (293, "FACILITY_DEPLOYMENT_SERVICES_CONTENT_PROVIDER"),
    (296, "FACILITY_HSP_SERVICES"),
    (297, "FACILITY_HSP_SOFTWARE"),
    (305, "FACILITY_LINGUISTIC_SERVICES"),
    (885, "FACILITY_WEB"),
    (886, "FACILITY_WEB_SOCKET"),
    (1094, "FACILITY_AUDIOSTREAMING"),
    (1490, "FACILITY_TTD"),
    (1536, "FACILITY_ACCELERATOR"),
    (1793, "FACILITY_MOBILE"),
    (1967, "FACILITY_SQLITE"),
    (1968, "FACILITY_SERVICE_FABRIC"),
    (1989, "FACILITY_UTC"),
    (1996, "FACILITY_WMAAECMA"),
];

/// Extend-code phases, from Microsoft's "Upgrade error codes".
const SETUP_PHASES: &[(u32, &str)] = &[
    (0x0, "SP_EXECUTION_UNKNOWN"),
    (0x1, "SP_EXECUTION_DOWNLEVEL"),
    (0x2, "SP_EXECUTION_SAFE_OS"),
    (0x3, "SP_EXECUTION_FIRST_BOOT"),
    (0x4, "SP_EXECUTION_OOBE_BOOT"),
    (0x5, "SP_EXECUTION_UNINSTALL"),
];

/// Extend-code operations, from Microsoft's "Upgrade error codes" (the full
/// documented table, 0x00..=0x20). `INSTALL_DRVIERS` is spelled as there.
const SETUP_OPERATIONS: &[(u32, &str)] = &[
    (0x00, "SP_EXECUTION_OP_UNKNOWN"),
    (0x01, "SP_EXECUTION_OP_COPY_PAYLOAD"),
    (0x02, "SP_EXECUTION_OP_DOWNLOAD_UPDATES"),
    (0x03, "SP_EXECUTION_OP_INSTALL_UPDATES"),
    (0x04, "SP_EXECUTION_OP_INSTALL_RECOVERY_ENVIRONMENT"),
    (0x05, "SP_EXECUTION_OP_INSTALL_RECOVERY_IMAGE"),
    (0x06, "SP_EXECUTION_OP_REPLICATE_OC"),
    (0x07, "SP_EXECUTION_OP_INSTALL_DRVIERS"),
    (0x08, "SP_EXECUTION_OP_PREPARE_SAFE_OS"),
    (0x09, "SP_EXECUTION_OP_PREPARE_ROLLBACK"),
    (0x0A, "SP_EXECUTION_OP_PREPARE_FIRST_BOOT"),
    (0x0B, "SP_EXECUTION_OP_PREPARE_OOBE_BOOT"),
    (0x0C, "SP_EXECUTION_OP_APPLY_IMAGE"),
    (0x0D, "SP_EXECUTION_OP_MIGRATE_DATA"),
    (0x0E, "SP_EXECUTION_OP_SET_PRODUCT_KEY"),
    (0x0F, "SP_EXECUTION_OP_ADD_UNATTEND"),
    (0x10, "SP_EXECUTION_OP_ADD_DRIVER"),
    (0x11, "SP_EXECUTION_OP_ENABLE_FEATURE"),
    (0x12, "SP_EXECUTION_OP_DISABLE_FEATURE"),
    (0x13, "SP_EXECUTION_OP_REGISTER_ASYNC_PROCESS"),
    (0x14, "SP_EXECUTION_OP_REGISTER_SYNC_PROCESS"),
    (0x15, "SP_EXECUTION_OP_CREATE_FILE"),
    (0x16, "SP_EXECUTION_OP_CREATE_REGISTRY"),
    (0x17, "SP_EXECUTION_OP_BOOT"),
    (0x18, "SP_EXECUTION_OP_SYSPREP"),
    (0x19, "SP_EXECUTION_OP_OOBE"),
    (0x1A, "SP_EXECUTION_OP_BEGIN_FIRST_BOOT"),
    (0x1B, "SP_EXECUTION_OP_END_FIRST_BOOT"),
    (0x1C, "SP_EXECUTION_OP_BEGIN_OOBE_BOOT"),
    (0x1D, "SP_EXECUTION_OP_END_OOBE_BOOT"),
    (0x1E, "SP_EXECUTION_OP_PRE_OOBE"),
    (0x1F, "SP_EXECUTION_OP_POST_OOBE"),
    (0x20, "SP_EXECUTION_OP_ADD_PROVISIONING_PACKAGE"),
];

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests;
