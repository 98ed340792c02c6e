//! `scn explore` end to end: the snapshot of every scenario in `scenarios/explore/` (run with
//! the arguments its first line gives), counterexamples that reproduce with `scn run` and are
//! minimal, output independent of the thread count, shards that merge into the single-process
//! answer, and forked runs that equal runs from scratch.

mod common;

use std::path::Path;
use std::process::Command;

fn scn(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scn")).args(args).env_remove("COLUMNS").output().expect("scn runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// The `# explore: ARGS` line a scenario of `scenarios/explore/` starts with.
fn header_args(source: &str) -> Vec<String> {
    let first = source.lines().next().unwrap_or_default();
    let args = first.strip_prefix("# explore:").expect("an explore scenario starts with `# explore: ARGS`");
    args.split_whitespace().map(str::to_string).collect()
}

fn explore(path: &Path, extra: &[&str]) -> (i32, String, String) {
    let source = std::fs::read_to_string(path).expect("readable");
    let mut args = vec!["explore".to_string(), path.to_string_lossy().into_owned()];
    args.extend(header_args(&source));
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    scn(&args)
}

#[test]
fn explore_scenarios() {
    insta::glob!("../scenarios", "explore/*.scn", |path| {
        let (code, out, err) = explore(path, &[]);
        assert!(code == 0 || code == 1, "{}: exit {code}\n{err}", path.display());
        // Exit 1 exactly when a counterexample is printed.
        assert_eq!(code == 1, out.contains("result: BROKEN"), "{}:\n{out}", path.display());
        let name = path.file_stem().expect("name").to_string_lossy().into_owned();
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
            snapshot_suffix => name,
        }, {
            insta::assert_snapshot!("explore", format!("exit {code}\n{out}"));
        });
    });
}

/// The scenario's own verdict for a run of `text`, judged with `checks`.
fn broken(text: &str, checks: &[String]) -> Vec<String> {
    let outcome = common::parse(text).run(&scn::RunOptions { max_rows: 1, ..scn::RunOptions::default() });
    let checks: Vec<_> = checks.iter().map(|c| scn::explore::verdict::Check::parse(c).expect("check")).collect();
    scn::explore::verdict::judge(outcome.report(), &checks).into_iter().map(|b| b.detail).collect()
}

fn with_faults(source: &str, moves: &[Vec<String>]) -> String {
    let body: String = moves.iter().flatten().map(|l| format!("  {l}\n")).collect();
    format!("{source}\nfaults {{\n{body}}}\n")
}

#[test]
fn counterexamples_reproduce_and_are_minimal() {
    let mut checked = 0;
    for path in common::files("scenarios/explore") {
        let (code, out, err) = explore(&path, &["--format", "json"]);
        assert!(code < 2, "{}: {err}", path.display());
        let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
        let checks: Vec<String> =
            doc["checks"].as_array().expect("checks").iter().map(|c| c.as_str().expect("name").to_string()).collect();
        let source = std::fs::read_to_string(&path).expect("readable");
        for ce in doc["counterexamples"].as_array().expect("list") {
            let moves: Vec<Vec<String>> = serde_json::from_value(ce["moves"].clone()).expect("moves");
            // Pasted into the file, the block reproduces the violation with `scn run`...
            let got = broken(&with_faults(&source, &moves), &checks);
            assert!(!got.is_empty(), "{}: the counterexample does not reproduce:\n{moves:?}", path.display());
            let printed: Vec<String> = ce["broken"]
                .as_array()
                .expect("broken")
                .iter()
                .map(|b| b["detail"].as_str().expect("detail").into())
                .collect();
            assert_eq!(got, printed, "{}: the reproduction breaks other things", path.display());
            // ...and without any one of its faults, it passes.
            for i in 0..moves.len() {
                let mut fewer = moves.clone();
                fewer.remove(i);
                let text = if fewer.is_empty() { source.clone() } else { with_faults(&source, &fewer) };
                assert!(
                    broken(&text, &checks).is_empty(),
                    "{}: not minimal, {:?} is not needed",
                    path.display(),
                    moves[i]
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} counterexamples checked");
}

#[test]
fn output_does_not_depend_on_the_thread_count() {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/explore/exactly-once-read-committed.scn"));
    let (c1, one, _) = explore(path, &["--jobs", "1", "--format", "json"]);
    let (c2, two, _) = explore(path, &["--jobs", "2", "--format", "json"]);
    assert_eq!((c1, &one), (c2, &two));
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/run/at-least-once-consumer-reprocess.scn"));
    let args = ["explore", path.to_str().expect("utf-8"), "--faults", "1", "--all", "--format", "json"];
    let one = scn(&[&args[..], &["--jobs", "1"]].concat());
    let two = scn(&[&args[..], &["--jobs", "2"]].concat());
    assert_eq!(one.0, 1, "{}", one.2);
    assert_eq!((one.0, one.1), (two.0, two.1));
}

#[test]
fn three_shards_merge_into_the_single_process_answer() {
    let tmp = std::env::temp_dir().join(format!("scn-shards-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    for (file, extra) in [
        ("scenarios/explore/exactly-once-read-committed.scn", vec![]),
        ("scenarios/run/at-least-once-consumer-reprocess.scn", vec!["--faults", "1", "--all"]),
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let source = std::fs::read_to_string(&path).expect("readable");
        let mut base: Vec<String> = vec!["explore".into(), path.to_string_lossy().into_owned()];
        if extra.is_empty() {
            base.extend(header_args(&source));
        } else {
            base.extend(extra.iter().map(|s| s.to_string()));
        }
        let base: Vec<&str> = base.iter().map(String::as_str).collect();
        let single = scn(&base);
        let mut shards = Vec::new();
        for i in 0..3 {
            let shard = format!("{i}/3");
            let (code, out, err) = scn(&[&base[..], &["--shard", &shard]].concat());
            assert_eq!(code, 0, "{err}");
            let f = tmp.join(format!("shard-{i}.json"));
            std::fs::write(&f, out).expect("write shard");
            shards.push(f.to_string_lossy().into_owned());
        }
        let mut merge = vec!["explore", "--merge"];
        // Given in another order: the merge does not care.
        merge.extend([&shards[2], &shards[0], &shards[1]].map(String::as_str));
        let merged = scn(&merge);
        assert_eq!((merged.0, &merged.1), (single.0, &single.1), "{file}: merged shards differ:\n{}", merged.2);
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn forked_runs_equal_runs_from_scratch() {
    // Random schedules of up to three faults over bundled scenarios, each run forked (as the
    // search runs it) and from scratch with every line in place: the same final state.
    for (file, n) in [
        ("kafka-eos-system-test", "8"),
        ("zombie-leader", "30"),
        ("consumer-group-rebalance", "30"),
        ("transactions-commit-abort", "30"),
    ] {
        let path = format!("{}/scenarios/run/{file}.scn", env!("CARGO_MANIFEST_DIR"));
        let (code, out, err) =
            scn(&["explore", &path, "--random", n, "--seed", "7", "--faults", "3", "--check-determinism"]);
        assert!(code < 2, "{file}: {err}");
        assert!(out.contains("determinism: every schedule ran the same forked and from scratch"), "{file}:\n{out}");
    }
    // And every schedule of whole bounds, as the search runs them.
    for (file, args) in [
        ("run/at-least-once-consumer-reprocess", ["--faults", "1", "--kinds", "all"]),
        ("explore/exactly-once-read-committed", ["--faults", "2", "--kinds", "client-crash,lost"]),
    ] {
        let path = format!("{}/scenarios/{file}.scn", env!("CARGO_MANIFEST_DIR"));
        let base = ["explore", &path, "--check", "nonmonotonic", "--check-determinism"];
        let (code, out, err) = scn(&[&base[..], &args[..]].concat());
        assert!(code < 2, "{file}: {err}");
        assert!(out.contains("determinism: every schedule ran the same forked and from scratch"), "{file}:\n{out}");
    }
}

#[test]
fn bad_arguments_exit_2() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/explore/idempotent-producer.scn");
    for args in [
        vec!["--kinds", "meteor"],
        vec!["--check", "vibes"],
        vec!["--faults", "0"],
        vec!["--shard", "3/3"],
        vec!["--budget", "soon"],
        vec!["--clients", "nobody"],
    ] {
        let (code, _, err) = scn(&[&["explore", path][..], &args].concat());
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
}

#[test]
fn the_readme_shows_a_real_explore_run() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    assert!(readme.contains("scn explore scenarios/explore/acks-1-pipeline.scn --faults 1\n"), "the command is gone");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/explore/acks-1-pipeline.scn");
    let (code, out, _) = scn(&["explore", path, "--faults", "1"]);
    assert_eq!(code, 1);
    assert!(readme.contains(&format!("```\n{out}```\n")), "README's explore output is stale; it is now:\n{out}");
}

/// With expect lines, explore breaks on what `scn run` fails on: a failed expectation, or a
/// broken guarantee no expect line states (here a loss, where only duplicates are stated).
#[test]
fn an_unstated_broken_guarantee_is_a_counterexample() {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/explore/acks-1-pipeline.scn"))
        .expect("scenario");
    let cut = source.find("\nexpect").unwrap_or(source.len());
    let dir = std::env::temp_dir().join(format!("scn-unstated-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("duplicates-only.scn");
    std::fs::write(&path, format!("{}\nexpect {{\n  duplicates 0\n}}\n", &source[..cut])).expect("write");
    let (code, out, _) = scn(&["explore", path.to_str().expect("utf-8"), "--faults", "1", "--kinds", "leader-crash"]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("broken means: expect"), "{out}");
    assert!(out.contains("1 lost (acks=1: acked before replication) (no expect line states it)"), "{out}");
}

/// `scn explore A B` explores each file in turn with the same options, as `scn run A B` runs
/// them: each one's output is the one it gives alone, and the exit code is the worst.
#[test]
fn several_files_are_explored_in_turn() {
    let args = ["--faults", "1", "--kinds", "client", "--clients", "billing"];
    let one = |file: &str| {
        let mut a = vec!["explore", file];
        a.extend(args);
        scn(&a)
    };
    let (holds, broken) = ("scenarios/explore/at-most-once-allowed.scn", "scenarios/explore/at-most-once-lost-0.scn");
    let (code_a, out_a, _) = one(holds);
    let (code_b, out_b, _) = one(broken);
    assert_eq!((code_a, code_b), (0, 1), "{out_a}\n{out_b}");
    let mut both = vec!["explore", holds, broken];
    both.extend(args);
    let (code, out, err) = scn(&both);
    assert_eq!(code, 1, "the worst of 0 and 1:\n{err}");
    assert_eq!(out, format!("{out_a}\n{out_b}"), "each file's output in turn, a blank line between");
    let (code, _, err) = scn(&["explore", holds, "scenarios/invalid/syntax-missing-brace.scn", "--faults", "1"]);
    assert_eq!(code, 2, "an invalid file: {err}");
    assert!(err.contains("syntax-missing-brace.scn:"), "{err}");
}
