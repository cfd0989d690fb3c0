//! The running system's registry (Windows only): open a key under an HKLM
//! hive and read its values as the offline reader decodes them, with errors
//! that name the key.

use super::{decode_raw, Data};
use std::io::ErrorKind;
use winreg::enums::{HKEY_LOCAL_MACHINE, KEY_READ};
use winreg::RegKey;

/// `HKLM\<root>\<path>`, or `None` when it does not exist. `flags` are
/// added to KEY_READ (e.g. KEY_WOW64_64KEY).
pub fn open(root: &str, path: &str, flags: u32) -> Result<Option<RegKey>, String> {
    let hklm = RegKey::predef(HKEY_LOCAL_MACHINE);
    match hklm.open_subkey_with_flags(format!(r"{root}\{path}"), KEY_READ | flags) {
        Ok(key) => Ok(Some(key)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            Err(format!(r"access denied reading HKLM\{root}\{path}: run servicing-doctor as an administrator ({e})"))
        }
        Err(e) => Err(format!(r"cannot open HKLM\{root}\{path}: {e}")),
    }
}

/// Every value of an open key, decoded.
pub fn values(key: &RegKey, root: &str, path: &str) -> Result<Vec<(String, Data)>, String> {
    let mut out = Vec::new();
    for item in key.enum_values() {
        match item {
            Ok((name, value)) => out.push((name, decode_raw(value.vtype.clone() as u32, &value.bytes))),
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                return Err(format!(
                    r"access denied reading the values of HKLM\{root}\{path}: run servicing-doctor as an administrator ({e})"
                ))
            }
            Err(e) => return Err(format!(r"cannot read the values of HKLM\{root}\{path}: {e}")),
        }
    }
    Ok(out)
}
