//! Bugs found in review, each kept as a scenario in `tests/regressions/` whose expectations
//! failed before its fix: every one must now check, hold all its expectations, settle (no
//! runaway to the time limit), and be deterministic.

mod common;

#[test]
fn every_regression_scenario_holds() {
    let files = common::files("tests/regressions");
    assert!(files.len() >= 7, "regression scenarios missing");
    for path in files {
        let scenario = common::scenario(&path);
        let all = scn::RunOptions { max_rows: 0, ..scn::RunOptions::default() };
        let outcome = scenario.run(&all);
        let a = outcome.report();
        assert!(!a.expectations.is_empty(), "{}: no expectations", path.display());
        let failed: Vec<_> = a.expectations.iter().filter(|e| !e.passed).map(|e| e.expectation.clone()).collect();
        assert!(failed.is_empty(), "{}: failed {failed:?}", path.display());
        // A regression scenario settles: running into the time or event limit is a runaway.
        assert_eq!(a.run.stop, scn::sim::Stop::Quiescent, "{}: did not settle", path.display());
        let json = outcome.render(scn::Format::Json, &[]);
        assert_eq!(json, common::json(&scenario), "{}: not deterministic", path.display());
    }
}
