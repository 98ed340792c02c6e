//! Systematic fault injection: for every bundled scenario, each fault point a fault-free run
//! passes through (`scn points`) is injected on its own (crashes followed by a restart). Every
//! such run must check, finish without panicking, and be deterministic.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Points tried per scenario, spread evenly over its list (all of them with SCN_EXPLORE_ALL).
const PER_SCENARIO: usize = 12;

fn render(source: &str) -> String {
    common::parse(source)
        .run(&scn::RunOptions { max_rows: 50, ..scn::RunOptions::default() })
        .render(scn::Format::Json, &[])
}

#[test]
fn every_listed_fault_point_runs_cleanly() {
    let all = std::env::var("SCN_EXPLORE_ALL").is_ok();
    let mut tried = 0;
    for path in common::files("scenarios/run") {
        let scenario = common::scenario(&path);
        let source = scenario.source();
        let points = scn::sim::fault_points(scenario.model());
        let step = if all { 1 } else { (points.len() / PER_SCENARIO).max(1) };
        for point in points.iter().step_by(step) {
            let mut line = point.clone();
            if let Some(client) = point.strip_prefix("crash ").and_then(|r| r.split(' ').next()) {
                line.push_str(&format!("\n  restart {client} after 200ms"));
            }
            let scenario = format!("{source}\nfaults {{\n  {line}\n}}\n");
            let result = catch_unwind(AssertUnwindSafe(|| (render(&scenario), render(&scenario))));
            match result {
                Ok((a, b)) => assert_eq!(a, b, "{}: `{point}` is not deterministic", path.display()),
                Err(_) => panic!("{}: injecting `{point}` panicked", path.display()),
            }
            tried += 1;
        }
    }
    assert!(tried > 100, "only {tried} fault points explored");
}
