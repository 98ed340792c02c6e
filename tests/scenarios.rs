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

/// KIP-345: the same crash and restart with and without `group.instance.id`. A static member
/// takes its place back with no rebalance; a dynamic one is a new member, and the group waits
/// for the old one's session to expire before it rebalances.
#[test]
fn static_members_restart_without_a_rebalance() {
    let source = std::fs::read_to_string("scenarios/run/static-member-restart.scn").expect("readable");
    let dynamic: String =
        source.lines().filter(|l| !l.contains("group.instance.id")).map(|l| format!("{l}\n")).collect();
    let steps = |source: &str| {
        let outcome = Scenario::parse(source).expect("valid").run(&RunOptions::default());
        let report = outcome.report();
        report.steps.iter().map(|s| format!("{} {} {}", s.actor, s.action, s.result)).collect::<Vec<_>>()
    };
    let (fixed, moving) = (steps(&source), steps(&dynamic));
    let rebalances = |steps: &[String]| steps.iter().filter(|s| s.contains(" rebalance generation")).count();
    assert!(fixed.iter().any(|s| s.contains("static member analytics-2 back") && s.contains("no rebalance")));
    assert_eq!(rebalances(&fixed), 2, "only the group's forming: {fixed:#?}");
    assert!(moving.iter().any(|s| s.contains("member expired")), "{moving:#?}");
    // (Dynamic members form the group in one generation: the first one's rebalance waits for
    // the second, pending since its MEMBER_ID_REQUIRED, KIP-394; static members join at once.)
    let both = |s: &String| s.contains("rebalance generation 1;") && s.contains("analytics-2:");
    assert!(moving.iter().any(both), "{moving:#?}");
    assert_eq!(rebalances(&moving), 2, "a second generation after the session expired: {moving:#?}");
}

/// A member's session-expiry timer that finds it heard from since (the static member came back)
/// does nothing, so the run ends with its last step, not when that stale timer fires (it used
/// to count as activity: the run "ended" at 11805 ms, 10 s after the crash, with nothing then).
#[test]
fn a_stale_session_timer_does_not_stretch_the_run() {
    let source = std::fs::read_to_string("scenarios/run/static-member-restart.scn").expect("readable");
    let outcome = Scenario::parse(&source).expect("valid").run(&RunOptions { max_rows: 0, ..RunOptions::default() });
    let report = outcome.report();
    let last = report.steps.iter().map(|s| s.time_ms).max().expect("steps");
    assert_eq!(report.run.stop, scn::sim::Stop::Quiescent);
    assert_eq!(report.run.stopped_at_ms, last, "the run ends with its last step");
}

/// A `run for` limit stops the run at the limit, not at its last event: every format says
/// when it stopped, why, and when the last event was (it read "ended at 3509 ms (`run for`
/// time limit reached)", the last event, which contradicts a 4 s limit).
#[test]
fn a_run_for_limit_stops_the_run_at_the_limit() {
    let source = std::fs::read_to_string("scenarios/run/run-ends-with-writes-outstanding.scn").expect("readable");
    let outcome = Scenario::parse(&source).expect("valid").run(&RunOptions::default());
    let run = &outcome.report().run;
    assert_eq!(run.stop, scn::sim::Stop::TimeLimit);
    assert_eq!(run.stopped_at_ms, 4000, "`run for 4s`");
    assert!(run.last_event_ms < run.stopped_at_ms, "{run:?}");
    let said = format!("stopped at the `run for` limit at 4000 ms (last event at {} ms)", run.last_event_ms);
    for format in [scn::Format::Table, scn::Format::Markdown, scn::Format::Svg, scn::Format::Html] {
        let text = outcome.render(format, &scn::Section::ALL);
        assert!(text.contains(&said), "{format:?} does not say {said:?}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&outcome.render(scn::Format::Json, &scn::Section::ALL)).expect("json");
    assert_eq!(json["run"]["stopped_at_ms"], 4000);
    assert_eq!(json["run"]["stop"], "time-limit");
    assert_eq!(json["run"]["last_event_ms"], run.last_event_ms);
    assert!(json["run"].get("end_ms").is_none(), "end_ms went away (schema_version 2)");
    assert_eq!(json["schema_version"], 2);
}

/// linger.ms (5 by default from kafka.version 4.0, KIP-1030): six records sent 2 ms apart
/// leave in two requests; with linger.ms 0, or on 3.9's default, each is a request of its own.
#[test]
fn linger_batches_records_sent_close_together() {
    let source = std::fs::read_to_string("scenarios/run/linger-batches-records.scn").expect("readable");
    let requests = |text: &str| {
        let scenario = Scenario::parse(text).expect("checks");
        scenario.run(&RunOptions::default()).report().cost.produce_requests
    };
    assert_eq!(requests(&source), 2);
    assert_eq!(requests(&source.replace("  acks all\n", "  acks all\n  linger.ms 0\n")), 6);
    assert_eq!(requests(&source.replace("  kafka.version 4.0\n", "")), 6);
    // A record that fills its batch does not wait: batch.size smaller than two records.
    assert_eq!(requests(&source.replace("  acks all\n", "  acks all\n  batch.size 1\n")), 6);
}
