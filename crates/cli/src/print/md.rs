//! The report as a Markdown support request: summary, code, the missing
//! path, evidence with source and line, the system, what was checked.
//! Log text is untrusted: it goes into code spans/blocks whose fences are
//! longer than any backtick run inside, or is escaped.

use servicing_doctor::report::{CheckStatus, Finding, Report};
use servicing_doctor::rules::Severity;
use std::io::{self, Write};

/// Escape text for Markdown prose (and the HTML a renderer may allow):
/// the characters that can open markup anywhere, plus a leading block
/// marker. Other punctuation stays readable in the raw text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in super::inert(s).chars().enumerate() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '+' | '-' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// An inline code span that no content can close early.
pub fn code(s: &str) -> String {
    let s = super::inert(s);
    let fence = "`".repeat(longest_backtick_run(&s) + 1);
    format!("{fence} {s} {fence}")
}

/// A fenced block that no content can close early.
fn block(out: &mut impl Write, lines: &[String]) -> io::Result<()> {
    let longest = lines.iter().map(|l| longest_backtick_run(l)).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    writeln!(out, "{fence}text")?;
    for l in lines {
        writeln!(out, "{}", super::inert(l))?;
    }
    writeln!(out, "{fence}")
}

pub fn write(out: &mut impl Write, report: &Report) -> io::Result<()> {
    let top = report.findings.iter().find(|f| f.severity == Severity::Error).or(report.findings.first());
    match top {
        None if !report.diagnosed() => {
            writeln!(out, "# Servicing diagnosis: nothing diagnosed")?;
            writeln!(out)?;
            writeln!(out, "servicing-doctor could not read any servicing log from what it was given (see Sources).")?;
        }
        None => {
            writeln!(out, "# Servicing diagnosis: no failure found")?;
            writeln!(out)?;
            writeln!(out, "servicing-doctor read the logs below and found no servicing failure.")?;
        }
        Some(f) => finding(out, f, true)?,
    }
    if !report.system.is_empty() {
        writeln!(out)?;
        writeln!(out, "## System")?;
        writeln!(out)?;
        writeln!(out, "| | |")?;
        writeln!(out, "|---|---|")?;
        for (k, v) in &report.system {
            writeln!(out, "| {} | {} |", escape(k), code(v))?;
        }
    }
    writeln!(out)?;
    writeln!(out, "## Already checked")?;
    writeln!(out)?;
    if report.checks.is_empty() {
        writeln!(out, "No system checks ran (the input was log files, not a Windows installation).")?;
    } else {
        writeln!(out, "| Check | Result | Detail |")?;
        writeln!(out, "|---|---|---|")?;
        for c in &report.checks {
            let st = match c.status {
                CheckStatus::Pass => "pass",
                CheckStatus::Fail => "**FAIL**",
                CheckStatus::Skipped => "skipped",
            };
            writeln!(out, "| {} | {st} | {} |", code(&c.id), escape(&c.detail))?;
        }
    }
    let others: Vec<&Finding> = report.findings.iter().filter(|f| top.is_none_or(|t| !std::ptr::eq(*f, t))).collect();
    if !others.is_empty() {
        writeln!(out)?;
        writeln!(out, "## Other findings")?;
        for f in others {
            writeln!(out)?;
            finding(out, f, false)?;
        }
    }
    writeln!(out)?;
    writeln!(out, "## Logs read")?;
    writeln!(out)?;
    for s in &report.sources {
        let state = match &s.error {
            Some(e) => format!("error: {}", escape(e)),
            None => format!("{} records", s.records),
        };
        writeln!(out, "- {} ({}): {state}", code(&s.path), escape(s.kind.as_str()))?;
    }
    writeln!(out)?;
    writeln!(out, "_Written by servicing-doctor {}._", escape(servicing_doctor::VERSION))?;
    Ok(())
}

fn finding(out: &mut impl Write, f: &Finding, main: bool) -> io::Result<()> {
    let h = if main { "#" } else { "###" };
    writeln!(out, "{h} Support request: {}", escape(&f.title))?;
    writeln!(out)?;
    writeln!(out, "{}", escape(&f.summary))?;
    writeln!(out)?;
    writeln!(out, "| | |")?;
    writeln!(out, "|---|---|")?;
    if let Some(c) = &f.code {
        let name = f.code_name.as_deref().map(|n| format!(" {}", escape(n))).unwrap_or_default();
        let msg = f.code_message.as_deref().map(|m| format!(": {}", escape(m))).unwrap_or_default();
        writeln!(out, "| Error code | {}{name}{msg} |", code(c))?;
    }
    if let Some(t) = f.time {
        writeln!(out, "| When | {} |", t.strftime("%Y-%m-%d %H:%M:%S"))?;
    }
    let missing = f.facts.get("missing").map(|m| code(m)).unwrap_or_else(|| "not named in the logs".into());
    writeln!(out, "| Path or file not found | {missing} |")?;
    for (k, v) in f.facts.iter().filter(|(k, _)| k.as_str() != "missing") {
        writeln!(out, "| {} | {} |", escape(k), code(v))?;
    }
    writeln!(out, "| Rule | {} |", code(&f.rule))?;
    writeln!(out)?;
    writeln!(out, "{h}# Evidence")?;
    let mut by_path: Vec<(&str, Vec<String>)> = Vec::new();
    for e in &f.evidence {
        let line = format!("{:>6}: {}", e.line, e.text);
        match by_path.iter_mut().find(|(p, _)| *p == e.path) {
            Some((_, v)) => v.push(line),
            None => by_path.push((&e.path, vec![line])),
        }
    }
    for (path, lines) in by_path {
        writeln!(out)?;
        writeln!(out, "{}", code(path))?;
        writeln!(out)?;
        block(out, &lines)?;
    }
    writeln!(out)?;
    writeln!(out, "{h}# What was done / what to do")?;
    writeln!(out)?;
    for (i, s) in f.remediation.steps.iter().enumerate() {
        writeln!(out, "{}. {}", i + 1, escape(s))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_cannot_be_closed_by_content() {
        assert_eq!(code("a``b"), "``` a``b ```");
        assert_eq!(code("plain"), "` plain `");
    }

    #[test]
    fn prose_is_escaped() {
        assert_eq!(escape("<script>*x*</script>"), "&lt;script&gt;\\*x\\*&lt;/script&gt;");
        assert_eq!(escape("[a](javascript:x)"), "\\[a\\](javascript:x)");
        assert_eq!(escape("# not a heading - ok."), "\\# not a heading - ok.");
        assert_eq!(escape("a|b"), "a\\|b");
    }
}
