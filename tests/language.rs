//! docs/language.md against the grammar and the checker: every keyword the grammar has and
//! every setting the checker accepts is documented, every setting the reference documents is
//! accepted, and its examples work: each ```` ```scn ```` block is a whole scenario that checks
//! and holds its expectations; each ```` ```scn-fragment ```` block (a part) parses inside a
//! scenario unless it is the skeleton (`{ ... }`).

mod common;

use std::collections::BTreeSet;

fn read(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).expect("readable")
}

/// The code blocks of a markdown text: (info string, text, line of the opening fence).
fn blocks(md: &str) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    let mut open: Option<(String, String, usize)> = None;
    for (i, line) in md.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.trim().to_string(), String::new(), i + 1)),
            (Some(_), Some(_)) => out.push(open.take().expect("open block")),
            (Some((_, text, _)), None) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

/// The words written in backticks in the text outside code blocks, and every word inside them.
fn documented(md: &str) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    let mut in_code = false;
    for line in md.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            words.extend(line.split(|c: char| c.is_whitespace() || "{}[],#".contains(c)).map(str::to_string));
        } else {
            for (i, part) in line.split('`').enumerate() {
                if i % 2 == 1 {
                    words.extend(part.split_whitespace().map(str::to_string));
                    words.insert(part.to_string());
                }
            }
        }
    }
    words
}

/// The keywords of grammar/scenario.pest: its `kw_x = @{ "x" ~ kw_end }` rules.
fn keywords() -> Vec<String> {
    read("grammar/scenario.pest")
        .lines()
        .filter(|l| l.starts_with("kw_") && l.contains("@{"))
        .filter_map(|l| l.split('"').nth(1).map(str::to_string))
        .collect()
}

/// The setting names a `KEYS: &[&str] = &[...]` list of the checker accepts.
fn keys(file: &str, list: &str) -> Vec<String> {
    let text = read(file);
    let start = text.find(&format!("{list}: &[&str] = &[")).unwrap_or_else(|| panic!("{list} in {file}"));
    let body = &text[start..start + text[start..].find("];").expect("list ends")];
    body.split('"').skip(1).step_by(2).map(str::to_string).collect()
}

fn settings() -> Vec<String> {
    let mut all = Vec::new();
    for (file, list) in [
        ("src/check/clients.rs", "PRODUCER_KEYS"),
        ("src/check/clients.rs", "CONSUMER_KEYS"),
        ("src/check/mod.rs", "CLUSTER_KEYS"),
        ("src/check/mod.rs", "TOPIC_KEYS"),
        ("src/check/processors.rs", "PROCESSOR_KEYS"),
    ] {
        let found = keys(file, list);
        assert!(found.len() > 0, "{list}: no keys read from {file}");
        all.extend(found);
    }
    // The network block's settings (src/check/mod.rs, `network`).
    all.extend(["latency", "jitter", "replication.latency", "broker.N.latency"].map(String::from));
    all
}

#[test]
fn every_keyword_and_setting_is_documented() {
    let doc = documented(&read("docs/language.md"));
    let kws = keywords();
    assert!(kws.len() > 50, "keywords read from the grammar: {kws:?}");
    let missing: Vec<&String> = kws.iter().filter(|k| !doc.contains(*k)).collect();
    assert!(missing.is_empty(), "keywords docs/language.md does not mention: {missing:?}");
    let missing: Vec<String> = settings().into_iter().filter(|k| !doc.contains(k)).collect();
    assert!(missing.is_empty(), "settings docs/language.md does not mention: {missing:?}");
}

#[test]
fn every_documented_setting_is_accepted() {
    // Kafka settings the reference names for their fixed values, saying scn does not read them.
    const NOT_SETTINGS: [&str; 3] = ["replica.socket.timeout.ms", "socket.connection.setup.timeout.ms", "memory.max"];
    let md = read("docs/language.md");
    let known = settings();
    let dotted: BTreeSet<String> = documented(&md)
        .into_iter()
        .filter(|w| w.contains('.') && w.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == 'N'))
        .filter(|w| !w.starts_with('.') && !w.ends_with('.') && !w.contains(".."))
        // Tracked variables (`ledger.position`) are not settings.
        .filter(|w| {
            ![".position", ".committed", ".state", ".leader", ".isr", ".retries", ".acked"]
                .iter()
                .any(|v| w.ends_with(v))
        })
        .collect();
    assert!(dotted.len() > 30, "{dotted:?}");
    let unknown: Vec<&String> =
        dotted.iter().filter(|w| !known.contains(w) && !NOT_SETTINGS.contains(&w.as_str())).collect();
    assert!(unknown.is_empty(), "docs/language.md documents settings the checker rejects: {unknown:?}");
    for s in NOT_SETTINGS.iter().filter(|s| **s != "memory.max") {
        assert!(
            md.contains(&format!("`{s}`, 30 s, Kafka's default: not a setting"))
                || md.contains(&format!("`{s}` (10 s, Kafka's default: not a setting")),
            "{s}: the reference says it is not a setting"
        );
    }
}

#[test]
fn the_examples_parse_and_the_whole_ones_check_and_hold() {
    let md = read("docs/language.md");
    let all = blocks(&md);
    assert!(all.len() >= 9, "{} code blocks", all.len());
    let mut whole = 0;
    for (info, text, line) in &all {
        match info.as_str() {
            "scn" => {
                whole += 1;
                let scenario = scn::Scenario::parse(text)
                    .unwrap_or_else(|e| panic!("docs/language.md:{line}: the example does not check:\n{e}"));
                let outcome = scenario.run(&scn::RunOptions::default());
                assert!(
                    outcome.passed(),
                    "docs/language.md:{line}: the example's expectations fail:\n{}",
                    outcome.render(scn::Format::Table, &[scn::Section::Expect, scn::Section::Flows])
                );
            }
            "scn-fragment" if text.contains("...") => {}
            "scn-fragment" => {
                let file = format!("scenario \"fragment\"\n{text}");
                if let Err(d) = scn::parse::parse(&file) {
                    panic!("docs/language.md:{line}: the fragment does not parse:\n{}", d.render("fragment", &file));
                }
            }
            other => panic!("docs/language.md:{line}: a code block marked `{other}`, not `scn` or `scn-fragment`"),
        }
    }
    assert!(whole >= 1, "no whole example");
}
