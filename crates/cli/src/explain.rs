//! `servicing-doctor explain CODE`: what an error code means, and which
//! rules involve it.

use serde::Serialize;
use servicing_doctor::hresult::{self, Decoded, ExtendCode};
use servicing_doctor::rules::RuleSet;
use std::io::{self, Write};

#[derive(Serialize)]
pub struct Explanation {
    pub input: String,
    #[serde(flatten)]
    pub decoded: Decoded,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extend: Option<ExtendCode>,
    /// For a bare Win32 error: the HRESULT that logs show for it
    /// (`HRESULT_FROM_WIN32`), e.g. 3 → `0x80070003`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hresult: Option<String>,
    pub rules: Vec<String>,
}

pub fn explain(input: &str, rules: &RuleSet) -> Option<Explanation> {
    let (code, ext) = hresult::parse_setup_code(input).or_else(|| hresult::parse_code(input).map(|c| (c, None)))?;
    let decoded = hresult::decode(code);
    // A bare Win32 error (1..=0xFFFF) shows up in logs as its HRESULT.
    let from_win32 = (ext.is_none() && (1..=0xFFFF).contains(&code)).then_some(0x8007_0000 | code);
    let codes: Vec<u32> = std::iter::once(code).chain(from_win32).collect();
    let hexes: Vec<String> = codes.iter().map(|c| format!("0x{c:08x}")).collect();
    // Rules about this code, or whose signals look for it.
    let involved = rules
        .rules
        .iter()
        .filter(|r| {
            r.code.is_some_and(|c| codes.contains(&c))
                || r.signals.iter().any(|s| {
                    hexes.iter().any(|hex| {
                        s.anchors.iter().any(|a| a.to_ascii_lowercase().contains(hex))
                            || s.regex.as_ref().is_some_and(|re| re.as_str().to_ascii_lowercase().contains(hex))
                    })
                })
        })
        .map(|r| r.id.clone())
        .collect();
    Some(Explanation {
        input: input.to_string(),
        decoded,
        extend: ext.map(hresult::decode_extend),
        hresult: from_win32.map(|h| format!("0x{h:08X}")),
        rules: involved,
    })
}

pub fn print_text(out: &mut impl Write, ex: &Explanation) -> io::Result<()> {
    let d = &ex.decoded;
    writeln!(out, "{d}")?;
    match &ex.hresult {
        // Severity and facility are HRESULT fields: a Win32 error has neither.
        Some(h) => writeln!(out, "  hresult:   {h} (HRESULT_FROM_WIN32, as logs show it)")?,
        None => {
            writeln!(out, "  severity:  {}", if d.failure { "failure" } else { "success" })?;
            let fac = d.facility_name.map(|n| format!(" {n}")).unwrap_or_default();
            writeln!(out, "  facility:  {}{}", d.facility, fac)?;
        }
    }
    writeln!(out, "  code:      0x{:04X} ({})", d.code_part, d.code_part)?;
    if let Some(w) = d.win32 {
        writeln!(out, "  win32:     {w} (0x{w:X})")?;
    }
    if let Some(n) = d.name {
        writeln!(out, "  name:      {n}")?;
    }
    if let Some(m) = d.message {
        writeln!(out, "  message:   {m}")?;
    }
    if let Some(e) = &ex.extend {
        let ph = e.phase_name.map(|n| format!(" {n}")).unwrap_or_default();
        let op = e.operation_name.map(|n| format!(" {n}")).unwrap_or_default();
        writeln!(out, "  extend:    0x{:X}: phase {}{}, operation 0x{:X}{}", e.raw, e.phase, ph, e.operation, op)?;
    }
    if ex.rules.is_empty() {
        writeln!(out, "  rules:     none of the loaded rules involve this code")?;
    } else {
        let rules: Vec<String> = ex.rules.iter().map(|r| crate::print::inert(r)).collect();
        writeln!(out, "  rules:     {}", rules.join(", "))?;
    }
    Ok(())
}
