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
    pub rules: Vec<String>,
}

pub fn explain(input: &str, rules: &RuleSet) -> Option<Explanation> {
    let (code, ext) = hresult::parse_setup_code(input).or_else(|| hresult::parse_code(input).map(|c| (c, None)))?;
    let decoded = hresult::decode(code);
    let hex = decoded.hex.to_ascii_lowercase();
    // Rules about this code, or whose signals look for it.
    let involved = rules
        .rules
        .iter()
        .filter(|r| {
            r.code == Some(code)
                || r.signals.iter().any(|s| {
                    s.anchors.iter().any(|a| a.to_ascii_lowercase().contains(&hex))
                        || s.regex.as_ref().is_some_and(|re| re.as_str().to_ascii_lowercase().contains(&hex))
                })
        })
        .map(|r| r.id.clone())
        .collect();
    Some(Explanation { input: input.to_string(), decoded, extend: ext.map(hresult::decode_extend), rules: involved })
}

pub fn print_text(out: &mut impl Write, ex: &Explanation) -> io::Result<()> {
    let d = &ex.decoded;
    writeln!(out, "{d}")?;
    writeln!(out, "  severity:  {}", if d.failure { "failure" } else { "success" })?;
    let fac = d.facility_name.map(|n| format!(" {n}")).unwrap_or_default();
    writeln!(out, "  facility:  {}{}", d.facility, fac)?;
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
        writeln!(out, "  rules:     {}", ex.rules.join(", "))?;
    }
    Ok(())
}
