//! The report for people: the verdict first, then the evidence with
//! `path:line`, then the steps; sources last.

use super::inert;
use anstyle::{AnsiColor, Style};
use servicing_doctor::report::{CheckStatus, Report};
use servicing_doctor::rules::placeholder::NOT_IN_LOGS;
use servicing_doctor::rules::Severity;
use servicing_doctor::view::{trigger_line, when, View, MAX_EARLIER_LISTED};
use servicing_doctor::LogKind;
use std::io::{self, Write};

struct Paint {
    on: bool,
}

impl Paint {
    fn s(&self, style: Style, text: &str) -> String {
        if self.on {
            format!("{}{}{}", style.render(), text, style.render_reset())
        } else {
            text.to_string()
        }
    }
}

fn sev_style(s: Severity) -> Style {
    match s {
        Severity::Error => AnsiColor::Red.on_default().bold(),
        Severity::Warning => AnsiColor::Yellow.on_default().bold(),
        Severity::Info => AnsiColor::Cyan.on_default(),
    }
}

/// Write the report. Prose wraps at `width` columns (`None`: not a terminal,
/// no wrapping); commands are never wrapped and stand on their own lines.
pub fn write(out: &mut impl Write, report: &Report, color: bool, width: Option<usize>) -> io::Result<()> {
    let p = Paint { on: color };
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    let read = report.logs_read();
    let view = View::new(report);
    let (errors, _) = view.counts();
    let verdict = match (report.findings.len(), errors) {
        (0, _) if !report.diagnosed() => "Nothing diagnosed: no servicing log could be read".to_string(),
        (0, _) => "No servicing failure found".to_string(),
        (n, 0) => format!("{n} finding(s), none fatal"),
        (n, e) => format!("{e} failure(s) found ({n} finding(s) in all)"),
    };
    if report.diagnosed() {
        writeln!(out, "{} — {} log(s) read", p.s(bold, &verdict), read)?;
    } else {
        writeln!(out, "{}", p.s(bold, &verdict))?;
    }
    for (i, group) in view.groups.iter().enumerate() {
        let f = group.latest();
        writeln!(out)?;
        let sev = f.severity.as_str().to_uppercase();
        writeln!(
            out,
            "{} {}  {}",
            p.s(dim, &format!("[{}]", i + 1)),
            p.s(sev_style(f.severity), &sev),
            p.s(bold, &inert(&f.title))
        )?;
        let scenario = f.scenario.as_ref().map(|s| format!(" (scenario {})", inert(s))).unwrap_or_default();
        writeln!(out, "    rule:     {}{}", inert(&f.rule), scenario)?;
        if let Some(t) = f.time {
            writeln!(out, "    when:     {}", t.strftime("%Y-%m-%d %H:%M:%S"))?;
        }
        if group.count() > 1 {
            let more = if group.more_incidents { " (only the most recent are kept)" } else { "" };
            let span = group.span_text();
            writeln!(out, "    seen:     {} incidents{span}{more}; the most recent is shown", group.count())?;
        }
        if let Some(code) = &f.code {
            let name = f.code_name.as_deref().map(|n| format!(" {}", inert(n))).unwrap_or_default();
            let msg = f.code_message.as_deref().map(|m| format!(" — {}", inert(m))).unwrap_or_default();
            writeln!(out, "    code:     {}{name}{msg}", inert(code))?;
        }
        // The declared facts, the subject first and in bold; a list has
        // one value per line.
        for fact in &f.fact_list {
            let label = format!("{}:", inert(&fact.label));
            let width = label.chars().count().max(9);
            let subject = f.subject.as_deref() == Some(fact.name.as_str());
            if fact.values.is_empty() {
                writeln!(out, "    {label:<width$} {}", p.s(dim, NOT_IN_LOGS))?;
            }
            for (i, v) in fact.values.iter().enumerate() {
                let v = if subject { p.s(bold, &inert(v)) } else { inert(v) };
                let head = if i == 0 { label.as_str() } else { "" };
                writeln!(out, "    {head:<width$} {v}")?;
            }
            if fact.more > 0 {
                writeln!(out, "    {:<width$} and {} more", "", fact.more)?;
            }
        }
        writeln!(out)?;
        for line in wrap(&inert(&f.summary), width.map(|w| w.saturating_sub(4))) {
            writeln!(out, "    {line}")?;
        }
        writeln!(out)?;
        writeln!(out, "    {}", p.s(bold, "Evidence:"))?;
        for e in &f.evidence {
            let at = format!("{}:{}", e.path, e.line);
            writeln!(out, "      {}", p.s(dim, &inert(&at)))?;
            writeln!(out, "        {}", inert(&e.text))?;
        }
        if !group.earlier().is_empty() {
            writeln!(out)?;
            writeln!(out, "    {}", p.s(bold, "Earlier incidents:"))?;
            for e in group.earlier().iter().take(MAX_EARLIER_LISTED) {
                let time = when(e.time);
                let at = trigger_line(e).map(|l| format!("{}:{}", l.path, l.line)).unwrap_or_default();
                writeln!(out, "      {time}  {}", p.s(dim, &inert(&at)))?;
            }
            if group.earlier().len() > MAX_EARLIER_LISTED {
                writeln!(out, "      and {} more", group.earlier().len() - MAX_EARLIER_LISTED)?;
            }
        }
        writeln!(out)?;
        writeln!(out, "    {}", p.s(bold, "What to do:"))?;
        for (n, step) in f.remediation.actions.iter().enumerate() {
            let mut lines = wrap(&inert(&step.text), width.map(|w| w.saturating_sub(10))).into_iter();
            if let Some(first) = lines.next() {
                writeln!(out, "      {:>2}. {first}", n + 1)?;
            }
            for l in lines {
                writeln!(out, "          {l}")?;
            }
            for c in &step.commands {
                writeln!(out, "            {}", inert(c))?;
            }
        }
    }
    if !report.checks.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", p.s(bold, "Checks:"))?;
        for c in &report.checks {
            let st = match c.status {
                CheckStatus::Pass => p.s(AnsiColor::Green.on_default(), "pass"),
                CheckStatus::Fail => p.s(AnsiColor::Red.on_default().bold(), "FAIL"),
                CheckStatus::Skipped => p.s(dim, "skip"),
            };
            writeln!(out, "  {st}  {}: {}", inert(&c.id), inert(&c.detail))?;
        }
    }
    if !report.system.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", p.s(bold, "System:"))?;
        for (k, v) in &report.system {
            writeln!(out, "  {}: {}", inert(k), inert(v))?;
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", p.s(bold, "Sources:"))?;
    // Files that are not logs (e.g. the thousands of members of an update
    // package) are counted, not listed, unless they are few.
    let quiet_unknown = |s: &&servicing_doctor::report::Source| {
        s.kind == LogKind::Unknown && s.error.is_none() && s.warnings.is_empty()
    };
    let unknown = report.sources.iter().filter(quiet_unknown).count();
    let list_unknown = unknown <= MAX_UNKNOWN_LISTED;
    for s in report.sources.iter().filter(|s| list_unknown || !quiet_unknown(s)) {
        let detail = match &s.error {
            Some(e) => p.s(AnsiColor::Red.on_default(), &format!("error: {}", inert(e))),
            None => format!("{}, {} bytes, {} records", s.encoding.unwrap_or("-"), s.bytes, s.records),
        };
        writeln!(out, "  {:<14} {}  {}", s.kind.as_str(), inert(&s.path), p.s(dim, &detail))?;
        for w in &s.warnings {
            writeln!(out, "  {:<14} {}", "", p.s(dim, &format!("note: {}", inert(w))))?;
        }
    }
    if !list_unknown {
        writeln!(
            out,
            "  {:<14} {}",
            "unknown",
            p.s(dim, &format!("{unknown} files that are not logs (listed in --format json)"))
        )?;
    }
    Ok(())
}

/// Unknown files listed one by one up to this many.
const MAX_UNKNOWN_LISTED: usize = 20;

/// Greedy word wrap at `width` columns (at least 20); `None` keeps one line.
fn wrap(text: &str, width: Option<usize>) -> Vec<String> {
    let Some(width) = width.map(|w| w.max(20)) else {
        return vec![text.split_whitespace().collect::<Vec<_>>().join(" ")];
    };
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn prose_wraps_only_at_a_width() {
        let text = "Confirm the servicing stack version in an administrative Command Prompt";
        assert_eq!(wrap(text, None), [text]);
        let lines = wrap(text, Some(30));
        assert!(lines.len() > 2 && lines.iter().all(|l| l.chars().count() <= 30), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert_eq!(wrap(text, Some(200)), [text]);
    }
}
