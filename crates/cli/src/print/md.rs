//! The report as a Markdown support request: summary, code, the missing
//! path, evidence with source and line, the system, what was checked.
//!
//! Text from input (logs, file names, SetupDiag and hive values, rule files)
//! is untrusted and escaped for where it lands, so that no renderer (GitHub's
//! GFM, with tables, autolinks and raw HTML) makes a link, an image or HTML
//! of it, and a table row keeps its columns:
//! - values go into code spans ([`code`]): nothing inside is markup. A `|`
//!   would still end a GFM table cell inside a span, and the `\|` escape
//!   reads differently after a backslash in different renderers, so a `|`
//!   is written between spans as the entity `&#124;`;
//! - evidence lines go into fenced blocks longer than any backtick run;
//! - rule text goes into prose with [`escape`].

use servicing_doctor::report::{CheckStatus, Report};
use servicing_doctor::support;
use servicing_doctor::view::{trigger_line, when, Group, View, MAX_EARLIER_LISTED};
use std::io::{self, Write};

/// Escape text for Markdown prose, table cells included: the characters
/// that can open markup anywhere (`\ ` * _ [ ] < > & ~ ! #`), the ones that
/// start GFM autolinks (`:` of `https://`, `@` of an address, the `.` of
/// `www.`), and a block marker at the start. `|` becomes `&#124;`, which no
/// renderer splits a table row on. Other punctuation stays readable.
pub fn escape(s: &str) -> String {
    let s = super::inert(s);
    let mut out = String::with_capacity(s.len() + 8);
    // Digits at the start, which with `.` or `)` would open an ordered list.
    let mut leading_digits = true;
    for (i, c) in s.char_indices() {
        match c {
            '|' => out.push_str("&#124;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '~' | '!' | '#' | '@' => {
                out.push('\\');
                out.push(c);
            }
            ':' if s[i + 1..].starts_with("//") => {
                out.push('\\');
                out.push(c);
            }
            '.' if s[..i].len() >= 3 && s[i - 3..i].eq_ignore_ascii_case("www") => out.push_str("\\."),
            '.' | ')' if leading_digits && i > 0 => {
                out.push('\\');
                out.push(c);
            }
            '+' | '-' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        leading_digits &= c.is_ascii_digit();
    }
    out
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Inline code that no content can close early or split out of a table
/// cell: one code span per run between `|`s, each `|` an entity between.
pub fn code(s: &str) -> String {
    let s = super::inert(s);
    let mut out = String::with_capacity(s.len() + 8);
    for (i, part) in s.split('|').enumerate() {
        if i > 0 {
            out.push_str("&#124;");
        }
        if part.is_empty() && s.contains('|') {
            continue;
        }
        let fence = "`".repeat(longest_backtick_run(part) + 1);
        out.push_str(&format!("{fence} {part} {fence}"));
    }
    out
}

/// A fenced block that no content can close early.
fn block(out: &mut impl Write, lines: &[String]) -> io::Result<()> {
    fenced(out, "", "text", lines)
}

/// A fenced block of `info` (language) indented by `indent` (to sit in a
/// list item), longer than any backtick run of its lines. The lines are as
/// is: no escaping applies inside a fence.
fn fenced(out: &mut impl Write, indent: &str, info: &str, lines: &[String]) -> io::Result<()> {
    let lines: Vec<String> = lines.iter().map(|l| super::inert(l)).collect();
    let longest = lines.iter().map(|l| longest_backtick_run(l)).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    writeln!(out, "{indent}{fence}{info}")?;
    for l in &lines {
        writeln!(out, "{indent}{l}")?;
    }
    writeln!(out, "{indent}{fence}")
}

pub fn write(out: &mut impl Write, report: &Report) -> io::Result<()> {
    let view = View::new(report);
    match view.groups.first() {
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
        Some(g) => finding(out, report, g, true)?,
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
            writeln!(out, "| {} | {st} | {} |", code(&c.id), code(&c.detail))?;
        }
    }
    if view.groups.len() > 1 {
        writeln!(out)?;
        writeln!(out, "## Other findings")?;
        for g in &view.groups[1..] {
            writeln!(out)?;
            finding(out, report, g, false)?;
        }
    }
    writeln!(out)?;
    writeln!(out, "## Logs read")?;
    writeln!(out)?;
    for s in &report.sources {
        let state = match &s.error {
            Some(e) => format!("error: {}", code(e)),
            None => format!("{} records", s.records),
        };
        writeln!(out, "- {} ({}): {state}", code(&s.path), escape(s.kind.as_str()))?;
    }
    writeln!(out)?;
    writeln!(out, "_Written by servicing-doctor {}._", escape(servicing_doctor::VERSION))?;
    Ok(())
}

fn finding(out: &mut impl Write, report: &Report, g: &Group<'_>, main: bool) -> io::Result<()> {
    let f = g.latest();
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
        writeln!(out, "| When (log time) | {} |", t.strftime("%Y-%m-%d %H:%M:%S"))?;
    }
    if g.count() > 1 {
        let span = g.span_text();
        let kept = if g.more_incidents { " (only the most recent are kept)" } else { "" };
        writeln!(out, "| Incidents | {}{span}{kept}; the most recent is shown |", g.count())?;
    }
    if main {
        // What support asks first, each stated or said to be missing.
        for item in support::summary(report, f) {
            let value = match &item.value {
                // A name or version (no spaces) as code; a sentence as prose.
                Some(v) if !v.contains(' ') => code(v),
                Some(v) => escape(v),
                None => format!("_{}_", escape(support::NOT_IN_LOGS)),
            };
            writeln!(out, "| {} | {value} |", escape(item.label))?;
        }
    }
    for fact in &f.fact_list {
        // One value per line of the cell; `<br>` is ours, the values are code spans.
        let mut values: Vec<String> = fact.values.iter().map(|v| code(v)).collect();
        if values.is_empty() {
            values.push("_not named in the logs_".into());
        }
        if fact.more > 0 {
            values.push(format!("and {} more", fact.more));
        }
        writeln!(out, "| {} | {} |", escape(&fact.label), values.join("<br>"))?;
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
    if !g.earlier().is_empty() {
        writeln!(out)?;
        writeln!(out, "{h}# Earlier incidents")?;
        writeln!(out)?;
        for e in g.earlier().iter().take(MAX_EARLIER_LISTED) {
            let time = when(e.time);
            let at = trigger_line(e).map(|l| code(&format!("{}:{}", l.path, l.line))).unwrap_or_default();
            writeln!(out, "- {time} {at}")?;
        }
        if g.earlier().len() > MAX_EARLIER_LISTED {
            writeln!(out, "- and {} more", g.earlier().len() - MAX_EARLIER_LISTED)?;
        }
    }
    writeln!(out)?;
    writeln!(out, "{h}# What was done / what to do")?;
    writeln!(out)?;
    for (i, step) in f.remediation.actions.iter().enumerate() {
        let marker = format!("{}. ", i + 1);
        writeln!(out, "{marker}{}", escape(&step.text))?;
        if !step.commands.is_empty() {
            // Commands are fenced blocks inside the list item: pasted as shown.
            let indent = " ".repeat(marker.len());
            let info = step.shell.map(|s| s.as_str()).unwrap_or("text");
            writeln!(out)?;
            fenced(out, &indent, info, &step.commands)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_cannot_be_closed_or_split_by_content() {
        assert_eq!(code("a``b"), "``` a``b ```");
        assert_eq!(code("plain"), "` plain `");
        assert_eq!(code("a|b"), "` a `&#124;` b `");
        assert_eq!(code("|x`|"), "&#124;`` x` ``&#124;");
        assert_eq!(code("C:\\x\\|[y](z)"), "` C:\\x\\ `&#124;` [y](z) `");
    }

    #[test]
    fn prose_is_escaped() {
        assert_eq!(escape("<script>*x*</script>"), "\\<script\\>\\*x\\*\\</script\\>");
        assert_eq!(escape("[a](javascript:x)"), "\\[a\\](javascript:x)");
        assert_eq!(escape("# not a heading - ok."), "\\# not a heading - ok.");
        assert_eq!(escape("a|b\\|c"), "a&#124;b\\\\&#124;c");
        assert_eq!(
            escape("see https://e.example or WWW.e.example, me@e.example"),
            "see https\\://e.example or WWW\\.e.example, me\\@e.example"
        );
        assert_eq!(escape("12. not a list 1.5"), "12\\. not a list 1.5");
        assert_eq!(escape("&amp; ![i](x)"), "\\&amp; \\!\\[i\\](x)");
    }
}
