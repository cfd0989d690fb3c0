//! The report as one self-contained HTML page. Every string is escaped;
//! no script, no external resources.

use servicing_doctor::report::{CheckStatus, Report};
use servicing_doctor::view::{trigger_line, when, View, MAX_EARLIER_LISTED};
use std::io::{self, Write};

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in super::inert(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn write(out: &mut impl Write, report: &Report) -> io::Result<()> {
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, "<html lang=\"en\"><head><meta charset=\"utf-8\">")?;
    writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    )?;
    writeln!(out, "<title>servicing-doctor report</title>")?;
    writeln!(
        out,
        "<style>body{{font-family:sans-serif;max-width:70em;margin:auto}}pre{{background:#f4f4f4;padding:.5em;overflow-x:auto}}.error{{color:#b00}}.warning{{color:#a60}}td,th{{text-align:left;padding:.2em .6em;vertical-align:top}}</style>"
    )?;
    writeln!(out, "</head><body>")?;
    if !report.diagnosed() {
        writeln!(out, "<h1>Nothing diagnosed: no servicing log could be read</h1>")?;
    } else if report.findings.is_empty() {
        writeln!(out, "<h1>No servicing failure found</h1>")?;
    }
    let view = View::new(report);
    for g in &view.groups {
        let f = g.latest();
        writeln!(out, "<section>")?;
        writeln!(out, "<h1 class=\"{}\">{}</h1>", f.severity.as_str(), escape(&f.title))?;
        writeln!(out, "<p>{}</p>", escape(&f.summary))?;
        writeln!(out, "<table>")?;
        writeln!(out, "<tr><th>Rule</th><td><code>{}</code></td></tr>", escape(&f.rule))?;
        if let Some(c) = &f.code {
            writeln!(
                out,
                "<tr><th>Code</th><td><code>{}</code> {} {}</td></tr>",
                escape(c),
                escape(f.code_name.as_deref().unwrap_or("")),
                escape(f.code_message.as_deref().unwrap_or(""))
            )?;
        }
        if let Some(t) = f.time {
            writeln!(out, "<tr><th>When (log time)</th><td>{}</td></tr>", t.strftime("%Y-%m-%d %H:%M:%S"))?;
        }
        if g.count() > 1 {
            let span = g.span_text();
            writeln!(out, "<tr><th>Incidents</th><td>{}{span}; the most recent is shown</td></tr>", g.count())?;
        }
        for item in servicing_doctor::support::summary(report, f) {
            writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", escape(item.label), escape(item.shown()))?;
        }
        for fact in &f.fact_list {
            let mut values: Vec<String> = fact.values.iter().map(|v| format!("<code>{}</code>", escape(v))).collect();
            if values.is_empty() {
                values.push("<em>not named in the logs</em>".into());
            }
            if fact.more > 0 {
                values.push(format!("and {} more", fact.more));
            }
            writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", escape(&fact.label), values.join("<br>"))?;
        }
        writeln!(out, "</table>")?;
        writeln!(out, "<h2>Evidence</h2>")?;
        writeln!(out, "<pre>")?;
        for e in &f.evidence {
            writeln!(out, "{}:{}\n    {}", escape(&e.path), e.line, escape(&e.text))?;
        }
        writeln!(out, "</pre>")?;
        if !g.earlier().is_empty() {
            writeln!(out, "<h2>Earlier incidents</h2><ul>")?;
            for e in g.earlier().iter().take(MAX_EARLIER_LISTED) {
                let time = when(e.time);
                let at = trigger_line(e).map(|l| format!("{}:{}", l.path, l.line)).unwrap_or_default();
                writeln!(out, "<li>{time} <code>{}</code></li>", escape(&at))?;
            }
            if g.earlier().len() > MAX_EARLIER_LISTED {
                writeln!(out, "<li>and {} more</li>", g.earlier().len() - MAX_EARLIER_LISTED)?;
            }
            writeln!(out, "</ul>")?;
        }
        writeln!(out, "<h2>What to do</h2><ol>")?;
        for step in &f.remediation.actions {
            write!(out, "<li>{}", escape(&step.text))?;
            if !step.commands.is_empty() {
                let lines: Vec<String> = step.commands.iter().map(|c| escape(c)).collect();
                write!(out, "<pre><code>{}</code></pre>", lines.join("\n"))?;
            }
            writeln!(out, "</li>")?;
        }
        writeln!(out, "</ol></section>")?;
    }
    if !report.checks.is_empty() {
        writeln!(out, "<h2>Checks</h2><table>")?;
        for c in &report.checks {
            let st = match c.status {
                CheckStatus::Pass => "pass",
                CheckStatus::Fail => "FAIL",
                CheckStatus::Skipped => "skipped",
            };
            writeln!(
                out,
                "<tr><td>{st}</td><td><code>{}</code></td><td>{}</td></tr>",
                escape(&c.id),
                escape(&c.detail)
            )?;
        }
        writeln!(out, "</table>")?;
    }
    if !report.system.is_empty() {
        writeln!(out, "<h2>System</h2><table>")?;
        for (k, v) in &report.system {
            writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v))?;
        }
        writeln!(out, "</table>")?;
    }
    writeln!(out, "<h2>Sources</h2><ul>")?;
    for s in &report.sources {
        let state =
            s.error.as_deref().map(|e| format!("error: {e}")).unwrap_or_else(|| format!("{} records", s.records));
        writeln!(out, "<li><code>{}</code> ({}): {}</li>", escape(&s.path), escape(s.kind.as_str()), escape(&state))?;
    }
    writeln!(out, "</ul></body></html>")?;
    Ok(())
}
