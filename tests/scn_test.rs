//! `scn test` end to end in temporary folders: discovery, snapshots and pending files,
//! `--accept`, `--review` answered on stdin, `CI=true`, declared rejections, JUnit XML and the
//! exit codes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const DUPLICATE: &str = r#"scenario "a lost ack duplicates"
cluster { brokers 1  topic orders { partitions 1 } }
producer shop {
  guarantee at-least-once
  send 2 to orders value "order{i}" every 40s
}
faults { ack lost for shop send 1 }
expect { duplicates 1 }
"#;

const INVALID: &str = "# scn-test: reject\nscenario \"bad\"\ncluster { brokers 1 topic t { partitions 1 } }\nproducer p { acks 1 enable.idempotence true send to t }\n";

/// A fresh empty folder for one test.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scn-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
    std::fs::write(path, text).expect("write");
}

fn read(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name)).ok()
}

/// `scn test ARGS` in `dir`, with `CI` unset unless `ci`, `input` on stdin.
fn scn_test(dir: &Path, args: &[&str], ci: bool, input: &str) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scn"));
    cmd.arg("test").args(args).current_dir(dir).env_remove("CI");
    if ci {
        cmd.env("CI", "true");
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("scn runs");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("scn ends");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

#[test]
fn a_new_snapshot_fails_as_a_pending_file_until_accepted() {
    let dir = folder("new");
    write(&dir, "pipes/orders.scn", DUPLICATE);
    let (code, out, _) = scn_test(&dir, &[], false, "");
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("running 1 scenario\ntest pipes/orders.scn ... FAILED\n"), "{out}");
    assert!(out.contains("no snapshot yet: the new text is in pipes/snapshots/orders.snap.new"), "{out}");
    assert!(out.contains("+++ pipes/snapshots/orders.snap (new)"), "{out}");
    assert!(out.contains("+| duplicates 1 | pass   | 1        | 1      |"), "{out}");
    assert!(out.ends_with("test result: FAILED. 0 passed, 1 failed\n"), "{out}");
    let pending = read(&dir, "pipes/snapshots/orders.snap.new").expect("pending file written");
    assert!(pending.starts_with("scenario: a lost ack duplicates\n"), "{pending}");
    assert_eq!(read(&dir, "pipes/snapshots/orders.snap"), None);

    let (code, out, _) = scn_test(&dir, &["--accept"], false, "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("test pipes/orders.scn ... ok (snapshot accepted)"), "{out}");
    assert_eq!(read(&dir, "pipes/snapshots/orders.snap").as_deref(), Some(pending.as_str()));
    assert_eq!(read(&dir, "pipes/snapshots/orders.snap.new"), None, "the pending file is gone");

    let (code, out, _) = scn_test(&dir, &["pipes"], false, "");
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "running 1 scenario\ntest pipes/orders.scn ... ok\n\ntest result: ok. 1 passed, 0 failed\n");
}

#[test]
fn a_changed_report_fails_with_a_unified_diff_and_keeps_the_snapshot() {
    let dir = folder("changed");
    write(&dir, "orders.scn", DUPLICATE);
    assert_eq!(scn_test(&dir, &["--accept"], false, "").0, 0);
    let before = read(&dir, "snapshots/orders.snap").expect("snapshot");
    write(&dir, "orders.scn", &DUPLICATE.replace("send 2", "send 3"));
    let (code, out, _) = scn_test(&dir, &["orders.scn"], false, "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the snapshot differs: the new text is in snapshots/orders.snap.new"), "{out}");
    assert!(out.contains("--- snapshots/orders.snap\n+++ snapshots/orders.snap (new)\n@@ -1,5 +1,5 @@\n"), "{out}");
    assert!(out.contains("\n-2 messages: 1 delivered once, 0 lost, 1 duplicated, 0 failed, 0 not sent\n"), "{out}");
    assert!(out.contains("\n+3 messages: 2 delivered once, 0 lost, 1 duplicated, 0 failed, 0 not sent\n"), "{out}");
    assert_eq!(read(&dir, "snapshots/orders.snap").as_deref(), Some(before.as_str()), "the snapshot stays");
    assert!(read(&dir, "snapshots/orders.snap.new").expect("pending").contains("order3"));

    // Back to the committed text: it passes, and the stale pending file goes.
    write(&dir, "orders.scn", DUPLICATE);
    let (code, out, _) = scn_test(&dir, &[], false, "");
    assert_eq!(code, 0, "{out}");
    assert_eq!(read(&dir, "snapshots/orders.snap.new"), None);
}

#[test]
fn a_snapshot_checked_out_with_crlf_still_matches() {
    let dir = folder("crlf");
    write(&dir, "orders.scn", DUPLICATE);
    assert_eq!(scn_test(&dir, &["--accept"], false, "").0, 0);
    let snap = read(&dir, "snapshots/orders.snap").expect("snapshot");
    write(&dir, "snapshots/orders.snap", &snap.replace('\n', "\r\n"));
    let (code, out, _) = scn_test(&dir, &[], false, "");
    assert_eq!(code, 0, "{out}");
}

#[test]
fn under_ci_nothing_is_written() {
    let dir = folder("ci");
    write(&dir, "orders.scn", DUPLICATE);
    for args in [&[][..], &["--accept"], &["--review"]] {
        let (code, out, _) = scn_test(&dir, args, true, "a\n");
        assert_eq!(code, 1, "{args:?}: {out}");
        assert!(out.contains("no snapshot yet: CI=true, nothing written"), "{out}");
        assert!(!dir.join("snapshots").exists(), "{args:?} wrote under CI=true");
    }
    let (_, out, _) = scn_test(&dir, &["--accept"], true, "");
    assert!(out.contains("CI=true: no snapshot was accepted or written"), "{out}");
    // An existing, matching snapshot passes under CI, and a stale pending file is left alone.
    assert_eq!(scn_test(&dir, &["--accept"], false, "").0, 0);
    write(&dir, "snapshots/orders.snap.new", "stale");
    let (code, out, _) = scn_test(&dir, &[], true, "");
    assert_eq!(code, 0, "{out}");
    assert_eq!(read(&dir, "snapshots/orders.snap.new").as_deref(), Some("stale"));
}

#[test]
fn failed_expectations_fail_even_with_a_matching_snapshot() {
    let dir = folder("expect");
    write(&dir, "wrong.scn", &DUPLICATE.replace("duplicates 1", "duplicates 0"));
    let (code, out, _) = scn_test(&dir, &["--accept"], false, "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("test wrong.scn ... FAILED"), "{out}");
    assert!(out.contains("expectation failed: `duplicates 0` expected 0, got 1"), "{out}");
    assert!(read(&dir, "snapshots/wrong.snap").is_some(), "the snapshot is still accepted");
    let (code, out, _) = scn_test(&dir, &[], false, "");
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("snapshot differs"), "{out}");
}

#[test]
fn a_declared_rejection_snapshots_the_diagnostics() {
    let dir = folder("reject");
    write(&dir, "bad.scn", INVALID);
    let (code, out, _) = scn_test(&dir, &["--accept"], false, "");
    assert_eq!(code, 0, "{out}");
    let snap = read(&dir, "snapshots/bad.snap").expect("snapshot");
    assert!(snap.starts_with("error: `acks` conflicts with `enable.idempotence true`\n --> bad.scn:4:19\n"), "{snap}");
    assert!(snap.ends_with("error: bad.scn found 1 problem\n"), "{snap}");

    // Invalid without the declaration: fails, whatever the snapshot says.
    write(&dir, "bad.scn", &INVALID.replace("# scn-test: reject\n", "\n"));
    let (code, out, _) = scn_test(&dir, &["--accept"], false, "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the scenario is invalid (add `# scn-test: reject` if it must be):\nerror:"), "{out}");

    // Declared but valid: fails.
    write(&dir, "bad.scn", &format!("# scn-test: reject\n{DUPLICATE}"));
    let (code, out, _) = scn_test(&dir, &["--accept"], false, "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("declares `# scn-test: reject`, but the scenario is valid"), "{out}");

    // A file that is not UTF-8 is a rejection like any other.
    std::fs::write(dir.join("bad.scn"), b"# scn-test: reject\nscenario \"caf\xE9\"\n").expect("write");
    let (code, out, _) = scn_test(&dir, &["--accept"], false, "");
    assert_eq!(code, 0, "{out}");
    assert!(read(&dir, "snapshots/bad.snap").expect("snapshot").contains("the file is not valid UTF-8 text"));
}

#[test]
fn sections_directive_trims_the_snapshot_and_typos_fail() {
    let dir = folder("sections");
    write(&dir, "orders.scn", &format!("# scn-test: sections expect, flows\n{DUPLICATE}"));
    assert_eq!(scn_test(&dir, &["--accept"], false, "").0, 0);
    let snap = read(&dir, "snapshots/orders.snap").expect("snapshot");
    assert!(snap.contains("\nFlows\n") && snap.contains("\nExpectations\n"), "{snap}");
    assert!(!snap.contains("Process") && !snap.contains("Messages"), "{snap}");
    write(&dir, "orders.scn", &format!("# scn-test: rejected\n{DUPLICATE}"));
    let (code, out, _) = scn_test(&dir, &[], false, "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 1: unknown directive `# scn-test: rejected`"), "{out}");
}

#[test]
fn review_accepts_rejects_and_skips_one_answer_a_line() {
    let dir = folder("review");
    for name in ["a", "b", "c"] {
        write(&dir, &format!("{name}.scn"), DUPLICATE);
    }
    assert_eq!(scn_test(&dir, &["--accept"], false, "").0, 0);
    let old = read(&dir, "snapshots/a.snap").expect("snapshot");
    for name in ["a", "b", "c"] {
        write(&dir, &format!("{name}.scn"), &DUPLICATE.replace("send 2", "send 3"));
    }
    // `x` is not an answer and is asked again; the input ends before c: c is skipped.
    let (code, out, _) = scn_test(&dir, &["--review"], false, "a\nx\nr\n");
    assert_eq!(code, 1, "b and c still differ: {out}");
    assert!(out.contains("review 1/3: a.scn\n--- snapshots/a.snap\n"), "{out}");
    assert!(out.contains("`x`: answer a, r or s"), "{out}");
    assert!(out.contains("accepted") && out.contains("rejected: the snapshot stays"), "{out}");
    assert!(out.contains("skipped: the pending file stays"), "{out}");
    assert!(out.ends_with("test result: FAILED. 1 passed, 2 failed\n"), "{out}");
    assert!(read(&dir, "snapshots/a.snap").expect("a").contains("order3"), "a accepted");
    assert_eq!(read(&dir, "snapshots/a.snap.new"), None);
    assert_eq!(read(&dir, "snapshots/b.snap").as_deref(), Some(old.as_str()), "b rejected");
    assert_eq!(read(&dir, "snapshots/b.snap.new"), None);
    assert_eq!(read(&dir, "snapshots/c.snap").as_deref(), Some(old.as_str()), "c skipped");
    assert!(read(&dir, "snapshots/c.snap.new").is_some(), "c's pending file stays");
}

#[test]
fn junit_xml_lists_every_scenario_and_its_failure() {
    let dir = folder("junit");
    write(&dir, "good.scn", DUPLICATE);
    write(&dir, "bad.scn", INVALID);
    assert_eq!(scn_test(&dir, &["--accept"], false, "").0, 0);
    write(&dir, "good.scn", &DUPLICATE.replace("duplicates 1", "duplicates 0"));
    let (code, out, _) = scn_test(&dir, &["--junit", "report.xml"], false, "");
    assert_eq!(code, 1, "{out}");
    let xml = read(&dir, "report.xml").expect("junit written");
    assert!(
        xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"scn test\" tests=\"2\" failures=\"1\">"
        ),
        "{xml}"
    );
    assert!(xml.contains("<testcase name=\"bad.scn\" classname=\"scn\"/>"), "{xml}");
    assert!(xml.contains("<failure message=\"expectation failed: `duplicates 0` expected 0, got 1\">"), "{xml}");
    assert!(xml.contains("-| duplicates 1 | pass   | 1        | 1      |"), "the diff: {xml}");
    assert!(!xml.contains("-> orders |"), "markup is escaped: {xml}");
}

#[test]
fn discovery_walks_folders_in_order_and_skips_snapshots_hidden_and_target() {
    let dir = folder("discover");
    for name in ["b/z.scn", "b/a.scn", "a.scn", ".hidden/x.scn", "target/x.scn", "b/snapshots/x.scn", "notes.txt"] {
        write(&dir, name, DUPLICATE);
    }
    let (code, out, _) = scn_test(&dir, &["--accept"], false, "");
    assert_eq!(code, 0, "{out}");
    let tests: Vec<&str> = out.lines().filter(|l| l.contains(" ... ")).collect();
    assert_eq!(
        tests,
        [
            "test a.scn ... ok (snapshot accepted)",
            "test b/a.scn ... ok (snapshot accepted)",
            "test b/z.scn ... ok (snapshot accepted)"
        ]
    );
    // A file named twice runs once; an explicit file runs whatever its extension.
    write(&dir, "plain.txt", DUPLICATE);
    let (code, out, _) = scn_test(&dir, &["a.scn", "./a.scn", "plain.txt", "--accept"], false, "");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("running 2 scenarios\ntest a.scn ... ok\ntest plain.txt ... ok (snapshot accepted)\n"),
        "{out}"
    );
}

#[test]
fn bad_paths_and_empty_folders_exit_2() {
    let dir = folder("paths");
    let (code, out, err) = scn_test(&dir, &["missing"], false, "");
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.starts_with("error: missing: "), "{err}");
    let (code, _, err) = scn_test(&dir, &[], false, "");
    assert_eq!(code, 2);
    assert_eq!(err, "error: no .scn files under .\n");
    let (code, _, err) = scn_test(&dir, &["--accept", "--review"], false, "");
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_guarantee_broken_without_an_expect_line_fails() {
    let dir = folder("unstated");
    // The bundled acks=1 scenario without its expectations: it loses three acked records.
    let bundled =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/run/acks-1-leader-crash.scn"))
            .expect("read");
    write(&dir, "loss.scn", bundled.split("expect {").next().expect("prefix"));
    let (code, out, _) = scn_test(&dir, &["--accept"], false, "");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("a guarantee broke and no expect line states it: api -> payments: at-least-once violated: 3 lost"),
        "{out}"
    );
}
