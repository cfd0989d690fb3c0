//! Registry values as this module needs them: decoded by type, cut to a
//! bounded length, named in notes. Shared by the offline and live readers.

use super::hive::RawValue;

/// A value's data, decoded as far as this module cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Data {
    Str(String),
    Dword(u32),
    Qword(u64),
    /// Any other type, by name (`REG_BINARY`, ...).
    Other(String),
}

/// One key's values, or why they could not be had.
pub(super) enum KeyRead {
    Absent,
    Present(Vec<(String, Data)>),
}

/// The longest text from the registry that reaches the report, in bytes: real values (versions,
/// folder names, product names) are well under it.
pub const MAX_TEXT: usize = 1024;
/// Notes about single values kept in one report.
pub(super) const MAX_VALUE_NOTES: usize = 20;

/// `text` cut to [`MAX_TEXT`] bytes (at a character boundary), with a note saying what was cut.
pub(super) fn cut(mut text: String, what: impl FnOnce() -> String, notes: &mut Vec<String>) -> String {
    if text.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        notes.push(format!("{} is longer than {MAX_TEXT} bytes: cut to its first {end} bytes", what()));
    }
    text
}

pub(super) fn type_name(data: &Data) -> String {
    match data {
        Data::Str(_) => "a string".to_string(),
        Data::Dword(_) => "REG_DWORD".to_string(),
        Data::Qword(_) => "REG_QWORD".to_string(),
        Data::Other(t) => t.clone(),
    }
}

/// Decodes raw registry data by its type number.
pub(super) fn decode_raw(vtype: u32, bytes: &[u8]) -> Data {
    match vtype {
        1 | 2 => {
            let units: Vec<u16> =
                bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|&u| u != 0).collect();
            Data::Str(String::from_utf16_lossy(&units))
        }
        4 if bytes.len() >= 4 => Data::Dword(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        5 if bytes.len() >= 4 => Data::Dword(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        11 if bytes.len() >= 8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[..8]);
            Data::Qword(u64::from_le_bytes(b))
        }
        t => Data::Other(
            match t {
                0 => "REG_NONE",
                3 => "REG_BINARY",
                4 => "REG_DWORD (too short)",
                5 => "REG_DWORD_BIG_ENDIAN (too short)",
                6 => "REG_LINK",
                7 => "REG_MULTI_SZ",
                8 => "REG_RESOURCE_LIST",
                9 => "REG_FULL_RESOURCE_DESCRIPTOR",
                10 => "REG_RESOURCE_REQUIREMENTS_LIST",
                11 => "REG_QWORD (too short)",
                _ => return Data::Other(format!("of type {t}")),
            }
            .to_string(),
        ),
    }
}

pub(super) fn decode_value(v: RawValue) -> (String, Data) {
    let data = decode_raw(v.kind, &v.data);
    (v.name, data)
}
