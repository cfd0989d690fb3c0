//! Error codes: `parse_code`, `parse_setup_code`, `decode`, `decode_extend`.
//! The input is a code as text; its first four bytes are also a raw code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servicing_doctor::hresult;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let setup = hresult::parse_setup_code(&text);
    assert_eq!(hresult::parse_code(&text), setup.map(|(c, _)| c));
    if let Some((code, ext)) = setup {
        let _ = hresult::decode(code).to_string();
        if let Some(ext) = ext {
            let _ = hresult::decode_extend(ext);
        }
    }

    if let Some(raw) = data.get(..8) {
        let code = u32::from_le_bytes(raw[..4].try_into().unwrap());
        let ext = u32::from_le_bytes(raw[4..].try_into().unwrap());
        let d = hresult::decode(code);
        assert_eq!(d.hex, format!("0x{code:08X}"));
        assert!(d.to_string().starts_with(&d.hex));
        assert_eq!(d.code_part, (code & 0xFFFF) as u16);
        assert_eq!(d.win32, hresult::related_win32(code));
        // What decode prints, parse_code reads back.
        assert_eq!(hresult::parse_code(&d.hex), Some(code));
        assert_eq!(hresult::parse_code(&format!("({})", d.hex)), Some(code));
        // Decimal reads back, except that eight digits are read as hex
        // (documented: logs print codes as eight bare hex digits).
        let dec = code.to_string();
        if dec.len() != 8 {
            assert_eq!(hresult::parse_code(&dec), Some(code));
        }
        assert_eq!(hresult::parse_code(&format!("{code:08x}")), Some(code));
        if code >= 0x8000_0000 {
            assert_eq!(hresult::parse_code(&(code as i32).to_string()), Some(code));
        }
        assert_eq!(hresult::parse_setup_code(&format!("{} - 0x{ext:X}", d.hex)), Some((code, Some(ext))));
        assert_eq!(hresult::parse_setup_code(&format!("{}-{ext:x}", d.hex)), Some((code, Some(ext))));
        let e = hresult::decode_extend(ext);
        assert_eq!((e.phase << 16) | e.operation, ext);
    }
});
