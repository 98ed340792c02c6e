//! Every scenario in `scenarios/` through the whole pipeline, one insta snapshot per file.
//! `scenarios/run/` must check and run; `scenarios/invalid/` must be rejected, and the
//! snapshot is its rendered diagnostics. A file in the wrong folder fails the test.

use scn::report::{self, Format, Limits, Section};
use std::path::Path;

fn name(path: &Path) -> String {
    path.file_stem().expect("file name").to_string_lossy().into_owned()
}

fn display(path: &Path) -> String {
    let rel = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path);
    rel.to_string_lossy().replace('\\', "/")
}

#[test]
fn runnable_scenarios() {
    insta::glob!("../scenarios", "run/*.scn", |path| {
        let source = std::fs::read_to_string(path).expect("readable scenario");
        let model = match scn::load(&source) {
            Ok(m) => m,
            Err(d) => panic!("{} should be valid:\n{}", display(path), d.render(&display(path), &source)),
        };
        let run = scn::sim::run(&model, &scn::sim::Options::default());
        let report = report::build(&model, &run, Limits { max_rows: 200 });
        let text = report::render(&report, Format::Table, &Section::ALL);
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
            snapshot_suffix => name(path),
        }, {
            insta::assert_snapshot!("run", text);
        });
        assert!(report.passed, "{}: expectations failed:\n{text}", display(path));
    });
}

#[test]
fn invalid_scenarios() {
    insta::glob!("../scenarios", "invalid/*.scn", |path| {
        // Read as bytes: a file that is not UTF-8 is one of the invalid scenarios.
        let bytes = std::fs::read(path).expect("readable scenario");
        let rendered = match scn::diag::decode(bytes) {
            Err((d, shown)) => d.render(&display(path), &shown),
            Ok(source) => match scn::load(&source) {
                Ok(_) => panic!("{} should be rejected", display(path)),
                Err(d) => d.render(&display(path), &source),
            },
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
        let source = std::fs::read_to_string(path).expect("readable scenario");
        let model = scn::load(&source).expect("valid");
        let render = || {
            let run = scn::sim::run(&model, &scn::sim::Options::default());
            let report = report::build(&model, &run, Limits { max_rows: 0 });
            report::render(&report, Format::Json, &Section::ALL)
        };
        assert_eq!(render(), render(), "{} is not deterministic", display(path));
    });
}

/// `scenarios/compare/*.scn` run under the three guarantees (compare mode); the table is the
/// snapshot.
#[test]
fn compare_scenarios() {
    insta::glob!("../scenarios", "compare/*.scn", |path| {
        let source = std::fs::read_to_string(path).expect("readable scenario");
        if let Err(d) = scn::load(&source) {
            panic!("{} should be valid:\n{}", display(path), d.render(&display(path), &source));
        }
        let file = scn::parse::parse(&source).expect("parses");
        let variants = scn::compare::variants(&[]);
        let rows = scn::compare::compare(&file, &variants, None);
        let text = report::render_compare(&file.title.node, &rows, Format::Table);
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
