//! The report as one offline HTML page: the scenario's source, the sequence diagram, the
//! tables (the process table collapsible and filterable by actor and message), and a
//! message's fate highlighted across diagram and tables on hover or click. Inline CSS, SVG and
//! script; nothing is fetched.

use super::diagram::{self, Diagram};
use super::svg::esc;
use super::{Report, cells, select, svg};
use std::fmt::Write;

const STYLE: &str = include_str!("html/page.css");
const SCRIPT: &str = include_str!("html/page.js");

/// One table: headers, rows of cells, and for each row the messages it is about.
struct Table<'a> {
    id: &'a str,
    headers: &'a [&'a str],
    rows: Vec<(Vec<String>, Vec<String>)>,
}

fn table(o: &mut String, t: &Table<'_>) {
    let _ = writeln!(o, "<table id=\"{}\"><thead><tr>", t.id);
    for h in t.headers {
        let _ = write!(o, "<th>{}</th>", esc(h));
    }
    o.push_str("</tr></thead><tbody>\n");
    for (cells, msgs) in &t.rows {
        let _ = write!(o, "<tr data-msgs=\"{}\">", esc(&msgs.join("|")));
        for c in cells {
            let _ = write!(o, "<td>{}</td>", esc(c));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table>\n");
}

fn more(o: &mut String, n: u64, what: &str) {
    if n > 0 {
        let _ = writeln!(o, "<p class=\"more\">… {n} more {what} not shown (--max-rows 0 shows all)</p>");
    }
}

pub fn render(r: &Report, d: &Diagram, max_rows: usize, source: Option<&str>) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        esc(&r.scenario)
    );
    let _ = writeln!(o, "<header><h1>{}</h1>", esc(&r.scenario));
    if let Some(desc) = &r.description {
        let _ = writeln!(o, "<p>{}</p>", esc(desc));
    }
    let verdict = if r.passed {
        "<span class=\"pass\">all expectations hold</span>"
    } else {
        "<span class=\"fail\">an expectation FAILED</span>"
    };
    let t = &r.totals;
    let _ = writeln!(
        o,
        "<p>seed {}; {}; {} events, {} steps; {} messages: {} delivered once, {} lost, {} duplicated, {} failed, {} not sent; {verdict}</p></header>",
        r.seed,
        esc(&r.run.ended()),
        r.run.events,
        r.run.steps,
        t.messages,
        t.delivered_once,
        t.lost,
        t.duplicated,
        t.failed,
        t.not_sent
    );
    o.push_str("<div id=\"fate\" class=\"fate\" hidden></div>\n");
    if let Some(src) = source {
        let _ =
            writeln!(o, "<details id=\"source\"><summary>Scenario source</summary><pre>{}</pre></details>", esc(src));
    }
    o.push_str("<h2>Sequence diagram</h2>\n<p class=\"hint\">Hover or click a message (an arrow, a note, a table row) to follow it everywhere; click again or press Escape to let go.</p>\n<div class=\"diagram\">\n");
    o.push_str(&svg::element(d));
    o.push_str("</div>\n");
    messages(&mut o, r, max_rows);
    flows(&mut o, r);
    anomalies(&mut o, r);
    expectations(&mut o, r);
    transactions(&mut o, r);
    faults(&mut o, r);
    logs(&mut o, r, max_rows);
    process(&mut o, r, max_rows);
    let _ = write!(o, "<script>\n{SCRIPT}</script>\n</body>\n</html>\n");
    o
}

fn messages(o: &mut String, r: &Report, max_rows: usize) {
    o.push_str("<h2>Messages</h2>\n");
    let kept = select::rows(r.messages.iter().map(|m| m.outcome != "delivered once"), max_rows);
    let rows = kept.iter().map(|&i| &r.messages[i]).map(|m| (cells::message(m), vec![m.value.clone()])).collect();
    table(o, &Table { id: "messages", headers: &cells::MESSAGE_HEADERS, rows });
    more(o, r.messages_omitted + (r.messages.len() - kept.len()) as u64, "messages");
}

fn flows(o: &mut String, r: &Report) {
    o.push_str("<h2>Flows</h2>\n");
    let rows = r
        .flows
        .iter()
        .map(|f| {
            let cells = vec![
                f.flow.clone(),
                f.config.clone(),
                f.guarantee.clone(),
                f.sent.to_string(),
                f.lost.to_string(),
                f.duplicated.to_string(),
                f.failed.to_string(),
                crate::outcome::Latency::text(&f.latency),
                f.verdict.clone(),
            ];
            (cells, Vec::new())
        })
        .collect();
    let headers = [
        "flow",
        "config",
        "guarantee",
        "in",
        "lost",
        "duplicated",
        "failed",
        "latency p50 / p99 / max (ms)",
        "guarantee holds?",
    ];
    table(o, &Table { id: "flows", headers: &headers, rows });
}

fn anomalies(o: &mut String, r: &Report) {
    o.push_str("<h2>Anomalies</h2>\n");
    let rows = r.anomalies.iter().map(|a| (cells::anomaly(a, &r.flows), a.examples.clone())).collect();
    table(o, &Table { id: "anomalies", headers: &cells::ANOMALY_HEADERS, rows });
}

fn expectations(o: &mut String, r: &Report) {
    if r.expectations.is_empty() {
        return;
    }
    o.push_str("<h2>Expectations</h2>\n");
    let rows = r.expectations.iter().map(|e| (cells::expectation(e), Vec::new())).collect();
    table(o, &Table { id: "expectations", headers: &cells::EXPECTATION_HEADERS, rows });
}

fn transactions(o: &mut String, r: &Report) {
    if r.transactions.is_empty() {
        return;
    }
    o.push_str("<h2>Transactions</h2>\n");
    let rows = r.transactions.iter().map(|t| (cells::transaction(t), Vec::new())).collect();
    table(o, &Table { id: "transactions", headers: &cells::TRANSACTION_HEADERS, rows });
}

fn faults(o: &mut String, r: &Report) {
    if r.faults.is_empty() {
        return;
    }
    o.push_str("<h2>Faults</h2>\n");
    let rows = r.faults.iter().map(|f| (cells::fault(f), Vec::new())).collect();
    table(o, &Table { id: "faults", headers: &cells::FAULT_HEADERS, rows });
}

fn logs(o: &mut String, r: &Report, max_rows: usize) {
    o.push_str("<h2>Partitions</h2>\n");
    for p in &r.partitions {
        let isr: Vec<String> = p.isr.iter().map(u32::to_string).collect();
        let _ = writeln!(
            o,
            "<h3>Log of {}</h3>\n<p>leader {}, epoch {}, isr [{}], high watermark {}, log end {}</p>",
            esc(&p.partition),
            p.leader.map_or("none".into(), |l| l.to_string()),
            p.leader_epoch,
            isr.join(","),
            p.high_watermark,
            p.log_end_offset
        );
        let kept = select::rows(p.records.iter().map(|x| x.repeated), max_rows);
        let rows = kept.iter().map(|&i| &p.records[i]).map(|x| (cells::record(x), vec![x.value.clone()])).collect();
        let id = format!("log-{}", p.partition);
        table(o, &Table { id: &id, headers: &cells::RECORD_HEADERS, rows });
        more(o, p.records_omitted + (p.records.len() - kept.len()) as u64, "records");
    }
}

/// The process table: the steps the diagram draws, filterable by actor and message.
fn process(o: &mut String, r: &Report, max_rows: usize) {
    let windows = diagram::keep(r, max_rows);
    let shown: usize = windows.iter().map(|w| w.len()).sum();
    let mut actors: Vec<&str> = r.steps.iter().map(|s| s.actor.as_str()).collect();
    actors.sort_unstable();
    actors.dedup();
    let _ = writeln!(
        o,
        "<details id=\"process\"><summary>Process table ({shown} of {} steps)</summary>\n<div class=\"filters\"><label>actor <select id=\"actor-filter\"><option value=\"\">(all)</option>",
        r.run.steps
    );
    for a in actors {
        let _ = write!(o, "<option>{}</option>", esc(a));
    }
    o.push_str("</select></label> <label>message <input id=\"msg-filter\" type=\"search\" placeholder=\"value, e.g. order3\"></label></div>\n");
    o.push_str("<table id=\"steps\"><thead><tr><th>step</th><th>time (ms)</th><th>actor</th><th>action</th><th>message</th><th>result</th></tr></thead><tbody>\n");
    let mut next = 0;
    for w in &windows {
        if w.start > next {
            let _ = writeln!(
                o,
                "<tr class=\"elided\"><td colspan=\"6\">… {} steps elided, as in the diagram and the text tables</td></tr>",
                w.start - next
            );
        }
        for s in &r.steps[w.clone()] {
            let msgs: Vec<&str> = s.message.split(", ").filter(|v| !v.is_empty() && !v.starts_with("... ")).collect();
            let _ = writeln!(
                o,
                "<tr data-step=\"{}\" data-actor=\"{}\" data-msgs=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                s.step,
                esc(&s.actor),
                esc(&msgs.join("|")),
                s.step,
                s.time_ms,
                esc(&s.actor),
                esc(&s.action),
                esc(&s.message),
                esc(&s.result)
            );
        }
        next = w.end;
    }
    o.push_str("</tbody></table>\n");
    more(o, r.steps_omitted + (r.steps.len() - next) as u64, "steps");
    o.push_str("</details>\n");
}
