//! `--max-rows 0` streams the long tables from a temporary file (`RunOptions::stream`): the
//! report it prints is the one an in-memory report with every row gives, byte for byte, in
//! every format, layout and row filter.

mod common;

use scn::{Filter, Format, Layout, RunOptions};

fn both(scenario: &scn::Scenario, filter: Filter) -> (scn::Outcome, scn::Outcome) {
    let memory = RunOptions { max_rows: 0, filter: filter.clone(), ..RunOptions::default() };
    let stream = RunOptions { stream: true, ..memory.clone() };
    (scenario.run(&memory), scenario.run(&stream))
}

fn same(name: &str, memory: &scn::Outcome, stream: &scn::Outcome) {
    assert!(stream.report().streamed.is_some(), "{name}: not streamed");
    assert!(stream.report().steps.is_empty() && !memory.report().steps.is_empty(), "{name}: rows in memory");
    for format in [Format::Table, Format::Markdown, Format::Json, Format::Yaml] {
        for layout in [Layout::default(), Layout::WIDE, Layout { width: Some(60), color: true }] {
            let a = memory.render_with(format, &[], layout);
            let b = stream.render_with(format, &[], layout);
            if a != b {
                let diff = similar::TextDiff::from_lines(&a, &b).unified_diff().to_string();
                panic!("{name}: {format:?} {layout:?} differs when streamed:\n{diff}");
            }
        }
    }
    let sections = [scn::Section::Messages, scn::Section::Flows];
    assert_eq!(
        memory.render(Format::Json, &sections),
        stream.render(Format::Json, &sections),
        "{name}: sections left out"
    );
}

#[test]
fn every_bundled_scenario_prints_the_same_streamed() {
    for path in common::files("scenarios/run") {
        let scenario = common::scenario(&path);
        let (memory, stream) = both(&scenario, Filter::default());
        same(&common::name(&path), &memory, &stream);
    }
}

#[test]
fn filtered_rows_and_the_tracker_print_the_same_streamed() {
    let filters = [
        Filter { actor: Some("ledger".into()), ..Filter::default() },
        Filter { message: Some("payment2".into()), from_ms: Some(2), ..Filter::default() },
        Filter { from_ms: Some(5), to_ms: Some(6000), ..Filter::default() },
    ];
    for file in
        ["acks-1-leader-crash", "consumer-group-rebalance", "transactions-commit-abort", "idempotent-producer-dedup"]
    {
        let scenario = common::scenario(&std::path::Path::new("scenarios/run").join(format!("{file}.scn")));
        for f in &filters {
            let (memory, stream) = both(&scenario, f.clone());
            if memory.report().steps.is_empty() {
                continue;
            }
            same(&format!("{file} ({})", f.describe()), &memory, &stream);
        }
    }
}
