//! `scn test` on the command line: find the scenarios, run them against their snapshots,
//! print one line each and a summary like a test runner, write pending files or accept them,
//! review them at a prompt, write JUnit XML, and pick the exit code.

use crate::{TestArgs, emit};
use scn::suite::{self, Case, Mode, Written};
use std::process::ExitCode;

pub fn run(args: &TestArgs) -> ExitCode {
    let paths = if args.paths.is_empty() { vec![".".to_string()] } else { args.paths.clone() };
    let files = match suite::discover(&paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if files.is_empty() {
        eprintln!("error: no .scn files under {}", paths.join(", "));
        return ExitCode::from(2);
    }
    // Under CI a changed snapshot must fail the build, never be quietly written (as insta).
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    let mode = if ci {
        Mode::ReadOnly
    } else if args.accept {
        Mode::Accept
    } else {
        Mode::Pending
    };
    let mut cases = suite::run(&files);
    for case in &mut cases {
        if let Err(e) = case.settle(mode) {
            eprintln!("error: {}: cannot write its snapshot: {e}", case.name);
            return ExitCode::from(2);
        }
    }
    let mut out = format!("running {} scenario{}\n", cases.len(), plural(cases.len()));
    for case in &cases {
        out.push_str(&format!("test {} ... {}\n", case.name, verdict(case)));
    }
    emit(&out);
    if args.review && !ci {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut stdout = std::io::stdout();
        if let Err(e) = suite::review(&mut cases, &mut input, &mut stdout) {
            eprintln!("error: review: {e}");
            return ExitCode::from(2);
        }
    }
    emit(&summary(&cases, ci && (args.accept || args.review)));
    if let Some(path) = &args.junit
        && let Err(e) = std::fs::write(path, suite::junit(&cases))
    {
        eprintln!("error: cannot write {path}: {e}");
        return ExitCode::from(2);
    }
    if cases.iter().all(Case::passed) { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn verdict(case: &Case) -> &'static str {
    match (case.passed(), &case.written) {
        (true, Written::Accepted) => "ok (snapshot accepted)",
        (true, _) => "ok",
        (false, _) => "FAILED",
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The failures with their reasons and diffs, then the counts.
fn summary(cases: &[Case], ci_refused: bool) -> String {
    let failed: Vec<&Case> = cases.iter().filter(|c| !c.passed()).collect();
    let mut out = String::new();
    if !failed.is_empty() {
        out.push_str("\nfailures:\n");
        for case in &failed {
            out.push_str(&format!("\n---- {} ----\n", case.name));
            for reason in suite::reasons(case) {
                out.push_str(&reason);
                out.push('\n');
            }
            out.push_str(&case.diff());
        }
        out.push_str("\nfailures:\n");
        for case in &failed {
            out.push_str(&format!("    {}\n", case.name));
        }
    }
    if failed.iter().any(|c| matches!(c.written, Written::Pending(_))) {
        out.push_str("\nto accept the new snapshots: scn test --accept, or one by one: scn test --review\n");
    }
    if ci_refused {
        out.push_str("\nCI=true: no snapshot was accepted or written\n");
    }
    let passed = cases.len() - failed.len();
    let result = if failed.is_empty() { "ok" } else { "FAILED" };
    out.push_str(&format!("\ntest result: {result}. {passed} passed, {} failed\n", failed.len()));
    out
}
