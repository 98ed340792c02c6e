//! Bugs found in review, each kept as a scenario in `tests/regressions/` whose expectations
//! failed before its fix: every one must now check, hold all its expectations, settle (no
//! runaway to the time limit), and be deterministic.

use scn::report::{self, Format, Limits, Section};

#[test]
fn every_regression_scenario_holds() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/regressions");
    let mut files: Vec<_> = std::fs::read_dir(dir).expect("regressions").map(|e| e.expect("entry").path()).collect();
    files.sort();
    assert!(files.len() >= 7, "regression scenarios missing");
    for path in files {
        let source = std::fs::read_to_string(&path).expect("readable");
        let model = scn::load(&source).unwrap_or_else(|d| panic!("{}: does not check:\n{d}", path.display()));
        let run = |_| {
            let run = scn::sim::run(&model, &scn::sim::Options::default());
            report::build(&model, &run, Limits { max_rows: 0 })
        };
        let (a, b) = (run(()), run(()));
        assert!(!a.expectations.is_empty(), "{}: no expectations", path.display());
        let failed: Vec<_> = a.expectations.iter().filter(|e| !e.passed).map(|e| e.expectation.clone()).collect();
        assert!(failed.is_empty(), "{}: failed {failed:?}", path.display());
        // A regression scenario settles: running into the time or event limit is a runaway.
        assert_eq!(a.run.stop, scn::sim::Stop::Quiescent, "{}: did not settle", path.display());
        let render = |r| report::render(r, Format::Json, &Section::ALL);
        assert_eq!(render(&a), render(&b), "{}: not deterministic", path.display());
    }
}
