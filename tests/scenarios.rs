//! Every scenario in `scenarios/` through the whole pipeline, one insta snapshot per file.
//! `scenarios/run/` must check and run; `scenarios/invalid/` must be rejected, and the
//! snapshot is its rendered diagnostics. A file in the wrong folder fails the test.

mod common;

use common::{display, name};
use scn::{Format, RunOptions, Scenario};

#[test]
fn runnable_scenarios() {
    insta::glob!("../scenarios", "run/*.scn", |path| {
        let outcome = common::scenario(path).run(&RunOptions::default());
        let text = outcome.render(Format::Table, &[]);
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
            snapshot_suffix => name(path),
        }, {
            insta::assert_snapshot!("run", text);
        });
        assert!(outcome.passed(), "{}: expectations failed:\n{text}", display(path));
    });
}

#[test]
fn invalid_scenarios() {
    insta::glob!("../scenarios", "invalid/*.scn", |path| {
        // Read as bytes: a file that is not UTF-8 is one of the invalid scenarios.
        let bytes = std::fs::read(path).expect("readable scenario");
        let rendered = match Scenario::from_bytes(&display(path), bytes) {
            Ok(_) => panic!("{} should be rejected", display(path)),
            Err(e) => e.to_string(),
        };
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
            snapshot_suffix => name(path),
        }, {
            insta::assert_snapshot!("invalid", rendered);
        });
    });
}

#[test]
fn every_run_is_deterministic() {
    insta::glob!("../scenarios", "run/*.scn", |path| {
        let scenario = common::scenario(path);
        assert_eq!(common::json(&scenario), common::json(&scenario), "{} is not deterministic", display(path));
    });
}

/// `scenarios/compare/*.scn` in compare mode: under the three guarantees, or under the
/// `--vary` options its `# vary: KEY=V1,V2` lines name; the table is the snapshot.
#[test]
fn compare_scenarios() {
    insta::glob!("../scenarios", "compare/*.scn", |path| {
        let scenario = common::scenario(path);
        let vary: Vec<&str> = scenario.source().lines().filter_map(|l| l.strip_prefix("# vary: ")).collect();
        let comparison = scenario.compare(&vary, None).expect("valid --vary options");
        let text = comparison.render(Format::Table);
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
            snapshot_suffix => name(path),
        }, {
            insta::assert_snapshot!("compare", text);
        });
    });
}
