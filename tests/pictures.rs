//! The pictures of a run: every bundled scenario's SVG sequence diagram is well-formed XML that
//! draws what the process table says; a few scenarios' SVG, Mermaid and HTML are snapshots
//! (deterministic text, read before accepting).

use scn::report::{self, Format, Limits};
use std::path::Path;

fn name(path: &Path) -> String {
    path.file_stem().expect("file name").to_string_lossy().into_owned()
}

/// The report `scn run FILE --format svg|mermaid|html` draws: every step recorded.
fn report_of(source: &str) -> report::Report {
    let model = scn::load(source).expect("valid scenario");
    let run = scn::sim::run(
        &model,
        &scn::sim::Options { trace_limit: scn::model::limits::MAX_REPORT_ROWS, ..scn::sim::Options::default() },
    );
    report::build(&model, &run, Limits::rows(0))
}

fn picture(path: &Path, format: Format) -> String {
    let source = std::fs::read_to_string(path).expect("readable scenario");
    report::picture(&report_of(&source), format, 200, Some(&source))
}

fn svg_rows<'a>(doc: &'a roxmltree::Document<'a>, class: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants()
        .filter(|n| n.attribute("class").is_some_and(|c| c.split(' ').next() == Some("row") && c.contains(class)))
        .collect()
}

#[test]
fn every_svg_is_well_formed_and_draws_the_process_table() {
    insta::glob!("../scenarios", "{run,explore}/*.scn", |path| {
        let source = std::fs::read_to_string(path).expect("readable scenario");
        let report = report_of(&source);
        let svg = report::picture(&report, Format::Svg, 0, None);
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{}: not well-formed: {e}", name(path)));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert_eq!(doc.root_element().tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
        // One drawn row per step, each titled with its step.
        let rows: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("class").is_some_and(|c| c.starts_with("row ") && !c.contains("elided")))
            .collect();
        assert_eq!(rows.len(), report.steps.len(), "{}: a row per step", name(path));
        for (row, step) in rows.iter().zip(&report.steps) {
            assert_eq!(row.attribute("data-step"), Some(step.step.to_string().as_str()), "{}", name(path));
        }
        let faults = report.steps.iter().filter(|s| s.actor == "fault").count();
        assert_eq!(svg_rows(&doc, "fault").len(), faults, "{}: a red line a fault", name(path));
        // A lane per actor (faults and the network are not actors).
        let lanes = doc.descendants().filter(|n| n.attribute("class") == Some("lane")).count();
        let mut actors: Vec<&str> = report
            .steps
            .iter()
            .map(|s| s.actor.as_str())
            .filter(|a| *a != "fault" && *a != "network" && !a.starts_with("broker "))
            .collect();
        actors.sort_unstable();
        actors.dedup();
        let brokers =
            doc.descendants().filter(|n| n.attribute("data-lane").is_some_and(|l| l.starts_with("broker "))).count();
        assert_eq!(lanes, actors.len() + brokers, "{}", name(path));
        // Each lost message ends in a red cross.
        let lost = report
            .messages
            .iter()
            .filter(|m| m.outcome == "lost" && report.steps.iter().any(|s| s.message.contains(&m.value)));
        for m in lost {
            let crossed = doc.descendants().any(|n| {
                n.attribute("data-msgs").is_some_and(|v| v.split('|').any(|x| x == m.value))
                    && n.children().any(|c| c.attribute("class") == Some("lost"))
            });
            assert!(crossed, "{}: lost {} has no red cross", name(path), m.value);
        }
    });
}

#[test]
fn crashes_break_the_lane_and_cut_links_are_bands() {
    let svg = picture(Path::new("scenarios/run/acks-1-leader-crash.scn"), Format::Svg);
    let doc = roxmltree::Document::parse(&svg).expect("well-formed");
    let down: Vec<_> = doc.descendants().filter(|n| n.attribute("class") == Some("down")).collect();
    assert_eq!(down.len(), 1, "broker 1 is down from 5 ms to its restart at 20 s");
    let svg = picture(Path::new("scenarios/run/network-partition.scn"), Format::Svg);
    let doc = roxmltree::Document::parse(&svg).expect("well-formed");
    let cuts = doc.descendants().filter(|n| n.attribute("class") == Some("cut")).count();
    assert_eq!(cuts, 2, "two partitions, both healed at 40 s");
    let dup = picture(Path::new("scenarios/run/at-least-once-producer-duplicate.scn"), Format::Svg);
    assert!(dup.contains("class=\"dup\""), "the second copy is marked");
}

#[test]
fn long_runs_draw_the_steps_around_the_faults() {
    let path = Path::new("scenarios/run/exactly-once-processor.scn");
    let source = std::fs::read_to_string(path).expect("readable");
    let report = report_of(&source);
    assert!(report.steps.len() > 60);
    let svg = report::picture(&report, Format::Svg, 60, None);
    let doc = roxmltree::Document::parse(&svg).expect("well-formed");
    let drawn = doc
        .descendants()
        .filter(|n| n.attribute("class").is_some_and(|c| c.starts_with("row ") && !c.contains("elided")));
    assert_eq!(drawn.count(), 60, "--max-rows 60 draws 60 steps");
    let faults = report.steps.iter().filter(|s| s.actor == "fault").count();
    assert_eq!(svg_rows(&doc, "fault").len(), faults, "every fault is among them");
    let elided: Vec<_> = svg_rows(&doc, "elided");
    assert!(!elided.is_empty());
    let said: u64 = elided
        .iter()
        .filter_map(|e| e.descendants().find(|n| n.is_text() && n.text().is_some_and(|t| t.contains("steps elided"))))
        .map(|t| {
            t.text().unwrap_or("").trim_start_matches("… ").split(' ').next().unwrap_or("0").parse::<u64>().unwrap_or(0)
        })
        .sum();
    assert_eq!(said, report.steps.len() as u64 - 60, "the elided rows say how many steps they stand for");
}

#[test]
fn mermaid_names_every_lane_and_balances_its_blocks() {
    insta::glob!("../scenarios", "run/*.scn", |path| {
        let text = picture(path, Format::Mermaid);
        assert!(text.starts_with("sequenceDiagram\n"), "{}", name(path));
        let participants = text.lines().filter(|l| l.trim_start().starts_with("participant ")).count();
        for l in text.lines().skip(1) {
            let l = l.trim();
            // Every arrow or note names declared participants only.
            for token in l
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|t| t.starts_with('L') && t[1..].parse::<usize>().is_ok())
            {
                assert!(token[1..].parse::<usize>().unwrap() < participants, "{}: {l}", name(path));
            }
            let bare = ["#59;", "#35;", "#lt;", "#gt;"].iter().fold(l.to_string(), |t, e| t.replace(e, ""));
            assert!(!bare.contains(';') && !bare.contains('#'), "{}: `;` ends a Mermaid statement: {l}", name(path));
        }
        let opened = text.lines().filter(|l| l.trim_start().starts_with("rect ")).count();
        let closed = text.lines().filter(|l| l.trim() == "end").count();
        assert_eq!(opened, closed, "{}: every rect ends", name(path));
    });
}

fn snapshot(kind: &str, file: &str, text: String) {
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        snapshot_suffix => file,
    }, {
        insta::assert_snapshot!(kind, text);
    });
}

/// A few scenarios' pictures as snapshots: a crash and truncation, a cut link, a duplicate,
/// a transactional processor.
#[test]
fn picture_snapshots() {
    for file in
        ["acks-1-leader-crash", "network-partition", "at-least-once-producer-duplicate", "exactly-once-processor"]
    {
        let path = format!("scenarios/run/{file}.scn");
        snapshot("svg", file, picture(Path::new(&path), Format::Svg));
        snapshot("mermaid", file, picture(Path::new(&path), Format::Mermaid));
    }
    let path = Path::new("scenarios/run/at-least-once-producer-duplicate.scn");
    snapshot("html", "at-least-once-producer-duplicate", picture(path, Format::Html));
}

/// The README's picture is what `scn run` draws today.
#[test]
fn the_readme_diagram_is_current() {
    let drawn = picture(Path::new("scenarios/run/acks-1-leader-crash.scn"), Format::Svg);
    let committed = std::fs::read_to_string("docs/acks-1-leader-crash.svg").expect("docs/acks-1-leader-crash.svg");
    assert!(
        drawn == committed,
        "docs/acks-1-leader-crash.svg is stale: scn run scenarios/run/acks-1-leader-crash.scn --format svg > docs/acks-1-leader-crash.svg"
    );
}

/// `scn compare --format svg`: plotters' charts, well-formed, one bar a count and a latency
/// per configuration, the guarantee table's cells; a snapshot of the bundled comparison.
#[test]
fn compare_charts() {
    let source = std::fs::read_to_string("scenarios/compare/seed-situations.scn").expect("readable");
    let file = scn::parse::parse(&source).expect("parses");
    let rows = scn::compare::compare(&file, &scn::compare::variants(&[]), None);
    let svg = report::render_compare(&file.title.node, &rows, Format::Svg, scn::Layout::default());
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    let texts: Vec<&str> = doc.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).map(str::trim).collect();
    for r in &rows {
        assert!(
            texts.iter().filter(|t| **t == r.config).count() >= 3,
            "{} is named under both charts and in the table",
            r.config
        );
        let l = r.latency.expect("latency");
        for v in [r.lost, r.duplicated, r.reordered, r.failed, l.p50_ms, l.p99_ms] {
            assert!(texts.contains(&v.to_string().as_str()), "{}: value {v} is written over its bar", r.config);
        }
    }
    let holds = rows.iter().filter(|r| r.guarantee_holds).count();
    assert_eq!(texts.iter().filter(|t| **t == "yes").count(), holds);
    // 3 configurations x (4 counts + 2 latencies) bars, each a filled rect.
    let bars =
        doc.descendants().filter(|n| n.tag_name().name() == "rect" && n.attribute("fill") != Some("#FFFFFF")).count();
    assert!(bars >= rows.len() * 6, "{bars} rects");
    let committed = std::fs::read_to_string("docs/compare-seed-situations.svg").expect("the README's chart");
    assert!(
        committed == svg,
        "docs/compare-seed-situations.svg is stale: scn compare scenarios/compare/seed-situations.scn --format svg > docs/compare-seed-situations.svg"
    );
    snapshot("compare-svg", "seed-situations", svg);
}

/// The formats from the command line: exit codes, where the pictures go, what is refused.
#[test]
fn picture_formats_from_the_command_line() {
    let scn = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_scn")).args(args).output().expect("scn runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, svg, _) = scn(&["run", "scenarios/run/acks-1-leader-crash.scn", "--format", "svg"]);
    assert_eq!(code, Some(0));
    assert!(svg.starts_with("<?xml") && roxmltree::Document::parse(&svg).is_ok());
    let (code, html, _) = scn(&["run", "scenarios/run/acks-1-leader-crash.scn", "--format", "html"]);
    assert_eq!(code, Some(0));
    assert!(html.contains("crash leader of payments-0 at 5ms") && html.contains("<pre>"), "the page shows the source");
    for fetch in [" src=", "<link", "@import", "url(http", "href=\"http"] {
        assert!(!html.contains(fetch), "the page fetches nothing: found {fetch}");
    }
    let plot = std::env::temp_dir().join(format!("scn-plot-{}.svg", std::process::id()));
    let (code, table, _) =
        scn(&["compare", "scenarios/compare/seed-situations.scn", "--plot", plot.to_str().expect("utf-8 path")]);
    assert_eq!(code, Some(0));
    assert!(table.contains("configuration"), "the table still prints");
    let written = std::fs::read_to_string(&plot).expect("--plot wrote the file");
    assert!(roxmltree::Document::parse(&written).is_ok());
    let _ = std::fs::remove_file(&plot);
    let (code, _, err) = scn(&["compare", "scenarios/compare/seed-situations.scn", "--format", "html"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("svg"), "{err}");
    let (code, _, err) = scn(&["explore", "scenarios/explore/acks-1-pipeline.scn", "--format", "html"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, svg, _) = scn(&["explore", "scenarios/explore/acks-1-pipeline.scn", "--faults", "1", "--format", "svg"]);
    assert_eq!(code, Some(1), "acks=1 breaks under one fault");
    let doc = roxmltree::Document::parse(&svg).expect("well-formed");
    let title = doc.descendants().find(|n| n.has_tag_name("title")).and_then(|n| n.text()).unwrap_or("");
    assert!(title.starts_with("explore ") && title.contains("counterexample"), "{title}");
    let (code, mmd, _) =
        scn(&["explore", "scenarios/explore/acks-1-pipeline.scn", "--faults", "1", "--format", "mermaid"]);
    assert_eq!(code, Some(1));
    assert!(mmd.starts_with("sequenceDiagram\n"), "{mmd}");
}
