//! The `scn` binary end to end: exit codes, formats, sections, diagnostics on stderr.

use std::process::Command;

fn scn(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scn"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("COLUMNS")
        .output()
        .expect("scn runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

fn temp_scenario(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("scn-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write scenario");
    path.to_string_lossy().into_owned()
}

#[test]
fn run_exits_0_when_expectations_hold() {
    let (code, out, _) = scn(&["run", "scenarios/run/at-most-once-consumer.scn"]);
    assert_eq!(code, 0);
    assert!(out.contains("all expectations hold"));
    assert!(out.contains("Process") && out.contains("Status tracker") && out.contains("Flows"));
}

#[test]
fn run_exits_1_when_an_expectation_fails() {
    let path = temp_scenario(
        "failing.scn",
        r#"scenario "wrong expectation"
cluster { brokers 1 topic t { partitions 1 } }
producer p { guarantee at-least-once send 2 to t }
faults { ack lost for p send 1 }
expect { duplicates 0 }
"#,
    );
    let (code, out, _) = scn(&["run", &path, "--sections", "expect"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("| duplicates 0 | FAIL   | 0        | 2      |"), "{out}");
    let (_, wide, _) = scn(&["run", &path, "--sections", "expect", "--wide"]);
    assert!(wide.contains("| duplicates 0 | 0        | 2      | FAIL   |"), "{wide}");
    assert!(out.contains("1 expectation(s) FAILED"));
}

#[test]
fn invalid_scenario_exits_2_with_a_located_diagnostic() {
    let path = temp_scenario(
        "invalid.scn",
        "scenario \"bad\"\ncluster { brokers 1 topic t { partitions 1 } }\nproducer p { acks 1 enable.idempotence true send to t }\n",
    );
    let (code, out, err) = scn(&["run", &path]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("invalid.scn:3:19"), "{err}");
    assert!(err.contains("Must set acks to all in order to use the idempotent producer"), "{err}");
    assert!(err.contains('^'), "{err}");
}

#[test]
fn unreadable_file_exits_2() {
    let (code, _, err) = scn(&["run", "no/such/file.scn"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read no/such/file.scn"));
}

#[test]
fn check_validates_without_running() {
    let (code, out, _) = scn(&["check", "scenarios/run/acks-1-leader-crash.scn"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("ok (3 brokers, 1 partition, 1 producer, 1 consumer, 5 messages, 2 faults, 4 expectations)"),
        "{out}"
    );
    let (code, _, err) = scn(&["check", "scenarios/invalid/unknown-names.scn"]);
    assert_eq!(code, 2);
    assert!(err.contains("error:"));
}

#[test]
fn json_and_yaml_carry_the_same_report() {
    let (code, json, _) = scn(&["run", "scenarios/run/idempotent-producer-dedup.scn", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid json");
    assert_eq!(v["totals"]["duplicated"], 0);
    assert_eq!(v["totals"]["delivered_once"], 5);
    assert_eq!(v["passed"], true);
    let (code, yaml, _) = scn(&["run", "scenarios/run/idempotent-producer-dedup.scn", "--format", "yaml"]);
    assert_eq!(code, 0);
    assert!(yaml.contains("delivered_once: 5"), "{yaml}");
    assert!(yaml.contains("passed: true"));
}

#[test]
fn sections_and_markdown() {
    let (code, out, _) =
        scn(&["run", "scenarios/run/console-producer-consumer.scn", "--format", "markdown", "--sections", "flows"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("# Console producer and consumer"));
    assert!(out.contains("## Flows"));
    assert!(!out.contains("## Process"));
    assert!(out.contains("| console-producer -> example-topic "), "{out}");
}

#[test]
fn max_rows_summarises_long_tables() {
    let (code, out, _) =
        scn(&["run", "scenarios/run/at-most-once-consumer.scn", "--max-rows", "3", "--sections", "steps,messages"]);
    assert_eq!(code, 0);
    assert!(out.contains("more steps not shown; kept those around faults"), "{out}");
    assert!(out.contains("(--max-rows 0 shows all)"), "{out}");
    assert!(out.contains("... 2 more messages not shown"), "{out}");
}

#[test]
fn seed_flag_overrides_the_scenario_seed() {
    let (_, out, _) =
        scn(&["run", "scenarios/run/console-producer-consumer.scn", "--seed", "42", "--sections", "expect"]);
    assert!(out.contains("seed 42;"), "{out}");
}

#[test]
fn points_lists_injectable_faults_as_fault_lines() {
    let (code, out, _) = scn(&["points", "scenarios/run/at-least-once-consumer-reprocess.scn"]);
    assert_eq!(code, 0);
    assert!(out.contains("request lost for shop send 1 attempt 1"), "{out}");
    assert!(out.contains("ack lost for shop send 5 attempt 1"), "{out}");
    assert!(out.contains("crash billing after poll 1"), "{out}");
    assert!(
        out.contains("crash billing after commit, before processing message1")
            || out.contains("crash billing before processing message1"),
        "{out}"
    );
    assert!(out.contains("crash billing after processing message5"), "{out}");
    // Every listed point is itself a valid fault line.
    let base = std::fs::read_to_string("scenarios/run/at-least-once-consumer-reprocess.scn").expect("read");
    let base = base.split("faults {").next().expect("prefix").to_string();
    for line in out.lines().take(12) {
        let path = temp_scenario("point.scn", &format!("{base}faults {{\n  {line}\n}}\n"));
        let (code, _, err) = scn(&["check", &path]);
        assert_eq!(code, 0, "`{line}` does not check: {err}");
    }
}

#[test]
fn compare_prints_one_row_per_configuration() {
    let (code, out, _) = scn(&["compare", "scenarios/compare/seed-situations.scn"]);
    assert_eq!(code, 0, "{out}");
    for g in ["at-most-once", "at-least-once", "exactly-once"] {
        assert!(out.contains(&format!("| {g} ")), "{out}");
    }
    let (code, out, _) = scn(&[
        "compare",
        "scenarios/run/acks-1-leader-crash.scn",
        "--vary",
        "acks=0,1,all",
        "--vary",
        "enable.idempotence=true,false",
        "--format",
        "json",
    ]);
    assert_eq!(code, 2, "acks=0 with idempotence is an invalid configuration");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let rows = v["configurations"].as_array().expect("rows");
    assert_eq!(rows.len(), 6, "the full matrix");
    let row = |c: &str| rows.iter().find(|r| r["config"] == c).expect(c).clone();
    assert_eq!(row("acks=1, enable.idempotence=false")["lost"], 3);
    assert_eq!(row("acks=all, enable.idempotence=true")["lost"], 0);
    let invalid = row("acks=0, enable.idempotence=true");
    assert!(invalid["note"].as_str().expect("note").contains("ConfigException"));
    assert_eq!(invalid["valid"], false);
    assert_eq!(invalid["settings"], serde_json::json!({"acks": 0, "enable.idempotence": true}), "key/value pairs");
    assert_eq!(row("acks=all, enable.idempotence=false")["settings"]["acks"], "all");
    // acks-1-leader-crash expects 3 lost: under acks=all nothing is lost, so it fails there.
    let expected = "`lost 3` expected 3, got 0";
    assert_eq!(row("acks=all, enable.idempotence=true")["expectations_failed"][0], expected);
    let (code, out, _) = scn(&["compare", "scenarios/run/acks-1-leader-crash.scn", "--vary", "acks=1,all"]);
    assert_eq!(code, 1, "an expectation fails under acks=all: {out}");
    assert!(out.contains("expectations FAILED under acks=all: `lost 3` expected 3, got 0; "), "{out}");
}

#[test]
fn compare_rejects_a_repeated_key_and_a_huge_matrix() {
    let file = "scenarios/run/acks-1-leader-crash.scn";
    let (code, out, err) = scn(&["compare", file, "--vary", "acks=0", "--vary", "acks=1"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("--vary acks: given twice"), "{err}");
    let many: String = (0..600).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let (code, out, err) = scn(&["compare", file, "--vary", &format!("retries={many}")]);
    assert_eq!((code, out.as_str()), (2, ""), "nothing ran: {err}");
    assert!(err.contains("--vary: 600 configurations; compare runs at most 256"), "{err}");
}

#[test]
fn bytes_that_are_not_utf8_get_a_place_and_exit_2() {
    let (code, _, err) = scn(&["check", "scenarios/invalid/not-utf8.scn"]);
    assert_eq!(code, 2);
    assert!(err.contains("scenarios/invalid/not-utf8.scn:3:31"), "{err}");
    assert!(err.contains("found the byte 0xE9"), "{err}");
}

#[test]
fn compare_rejects_unknown_settings() {
    let (code, _, err) = scn(&["compare", "scenarios/run/acks-1-leader-crash.scn", "--vary", "ack=0,1"]);
    assert_eq!(code, 2);
    assert!(err.contains("--vary ack: not a cluster, producer or consumer setting"), "{err}");
}

#[test]
fn a_file_past_the_size_limit_is_refused_unread() {
    let big = "# padding\n".repeat((16 << 20) / 10 + 1);
    let path = temp_scenario("too-big.scn", &format!("scenario \"big\"\n{big}"));
    let (code, _, err) = scn(&["check", &path]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("a scenario file holds at most 16 MiB"), "{err}");
}

/// acks=1 loses three acked records when the leader crashes: at-least-once is violated.
fn acks_1_loss(expect: &str) -> String {
    let text = std::fs::read_to_string("scenarios/run/acks-1-leader-crash.scn").expect("read");
    let text = text.split("expect {").next().expect("prefix").to_string();
    format!("{text}{expect}")
}

#[test]
fn a_violated_guarantee_no_expect_line_states_exits_1() {
    let path = temp_scenario("unstated.scn", &acks_1_loss(""));
    let (code, out, _) = scn(&["run", &path, "--sections", "expect"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILED: 1 flow violates the configured guarantee and no expect line states it"), "{out}");
    assert!(
        out.contains("  api -> payments: at-least-once violated: 3 lost (acks=1: acked before replication)\n"),
        "{out}"
    );
    // Expectations that hold but say nothing of the loss do not make it expected.
    let path = temp_scenario("unstated-2.scn", &acks_1_loss("expect { delivered 2 }\n"));
    let (code, out, _) = scn(&["run", &path, "--sections", "expect"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("all expectations hold\nFAILED: 1 flow violates"), "{out}");
    // `lost 3` states it: exit 0, and JSON's `passed` agrees with the exit code.
    let path = temp_scenario("stated.scn", &acks_1_loss("expect { lost 3 }\n"));
    let (code, out, _) = scn(&["run", &path, "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!((v["passed"].as_bool(), v["unstated_violations"].as_array().map(Vec::len)), (Some(true), Some(0)));
    let path = temp_scenario("unstated-3.scn", &acks_1_loss(""));
    let (_, out, _) = scn(&["run", &path, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["passed"], false);
    assert_eq!(
        v["unstated_violations"][0],
        "api -> payments: at-least-once violated: 3 lost (acks=1: acked before replication)"
    );
}

#[test]
fn json_always_carries_schema_version_totals_and_flows() {
    let (code, out, _) =
        scn(&["run", "scenarios/run/idempotent-producer-dedup.scn", "--format", "json", "--sections", "expect"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["totals"]["delivered_once"], 5, "totals without the messages section");
    assert!(v["flows"][0]["holds"].is_boolean(), "flows without the flows section: {out}");
    assert!(v.get("messages").is_none() && v.get("steps").is_none(), "other sections are dropped");
    let (_, yaml, _) =
        scn(&["run", "scenarios/run/idempotent-producer-dedup.scn", "--format", "yaml", "--sections", "expect"]);
    assert!(yaml.contains("schema_version: 2") && yaml.contains("delivered_once: 5"), "{yaml}");
}

#[test]
fn several_files_in_one_call_exit_with_the_worst_code() {
    let (code, out, err) =
        scn(&["check", "scenarios/run/acks-1-leader-crash.scn", "scenarios/run/at-most-once-consumer.scn"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.starts_with("scenarios/run/acks-1-leader-crash.scn: ok ("), "{out}");
    let (code, out, err) =
        scn(&["check", "scenarios/run/acks-1-leader-crash.scn", "scenarios/invalid/unknown-names.scn"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("acks-1-leader-crash.scn: ok") && err.contains("unknown-names.scn:"), "{err}");
    let failing = temp_scenario("fails.scn", &acks_1_loss(""));
    let (code, out, _) = scn(&["run", "scenarios/run/acks-1-leader-crash.scn", &failing, "--sections", "expect"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.matches("scenario: acks=1: the leader crashes").count(), 2, "both reports: {out}");
}

#[test]
fn a_dash_reads_the_scenario_from_stdin() {
    use std::io::Write;
    let run = |args: &[&str], input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scn"))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("scn runs");
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
        let out = child.wait_with_output().expect("scn ends");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/run/at-most-once-consumer.scn"))
        .expect("read");
    let (code, out, _) = run(&["run", "-", "--sections", "expect"], &text);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("all expectations hold"), "{out}");
    let (code, _, err) = run(&["check", "-"], "scenario \"x\"\ncluster { brokers 0 }\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("--> <stdin>:2:"), "{err}");
}

#[test]
fn completions_and_man_page() {
    for (shell, marker) in [("bash", "_scn()"), ("zsh", "#compdef scn"), ("fish", "complete -c scn")] {
        let (code, out, err) = scn(&["completions", shell]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(marker), "{shell}: {out}");
        assert!(out.contains("explore") && out.contains("max-rows"), "{shell} completes subcommands and flags");
    }
    let (code, out, _) = scn(&["man"]);
    assert_eq!(code, 0);
    assert!(out.contains(".TH scn 1"), "{out}");
    assert!(
        out.contains(".SH SUBCOMMANDS") && out.contains("scn\\-test(1)") && out.contains("scn\\-explore(1)"),
        "{out}"
    );
}

/// `scn run` with `env` set (and `COLUMNS` unset unless given).
fn scn_env(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scn"));
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR")).env_remove("COLUMNS").env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    String::from_utf8(cmd.output().expect("scn runs").stdout).expect("utf-8")
}

fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn tables_fit_100_columns_in_a_pipe_columns_when_set_and_any_width_with_wide() {
    let file = "scenarios/run/acks-1-leader-crash.scn";
    let piped = scn_env(&["run", file], &[]);
    assert!(widest(&piped) <= 100, "{piped}");
    let narrow = scn_env(&["run", file], &[("COLUMNS", "72")]);
    assert!(widest(&narrow) <= 72, "{narrow}");
    let wide = scn_env(&["run", file, "--wide"], &[]);
    assert!(widest(&wide) > 200, "--wide keeps the full Flows table");
    // The verdict comes second in a narrow Flows table, last in a wide one.
    let header = |t: &str| t.lines().skip_while(|l| *l != "Flows").nth(2).expect("flows header").to_string();
    assert!(header(&piped).starts_with("| flow (config)") && header(&piped).contains("| guarantee"), "{piped}");
    assert_eq!(header(&wide).rsplit('|').nth(1).map(str::trim), Some("guarantee holds?"), "{wide}");
    // What folds is said under the table.
    assert!(piped.contains("(the same in every row: key -, attempts 1; --wide shows the full table)"), "{piped}");
}

#[test]
fn verdicts_are_coloured_only_when_asked_or_on_a_terminal() {
    let file = "scenarios/run/acks-1-leader-crash.scn";
    let always = scn_env(&["run", file, "--color", "always", "--sections", "flows"], &[("NO_COLOR", "1")]);
    assert!(always.contains("\u{1b}[31mviolated: 3"), "{always}");
    assert!(always.contains("\u{1b}[32mholds"), "{always}");
    let piped = scn_env(&["run", file, "--sections", "flows"], &[]);
    assert!(!piped.contains('\u{1b}'), "a pipe stays plain");
    let never = scn_env(&["run", file, "--color", "never", "--sections", "flows"], &[]);
    assert!(!never.contains('\u{1b}'));
}

#[test]
fn max_rows_keeps_the_faults_and_the_filters_narrow_the_rows() {
    let file = "scenarios/run/acks-1-leader-crash.scn";
    let cut = scn_env(&["run", file, "--max-rows", "12", "--sections", "steps"], &[]);
    // The crash at step 15, the election at 22 and the truncation at 41 are kept, not steps 1-12.
    for step in ["| 15 ", "| 22 ", "| 41 "] {
        assert!(cut.contains(step), "{step} missing:\n{cut}");
    }
    assert!(cut.contains("... 31 more steps not shown; kept those around faults"), "{cut}");
    let ledger =
        scn_env(&["run", file, "--actor", "ledger", "--from", "3s", "--to", "16s", "--sections", "steps"], &[]);
    assert!(ledger.contains("rows: only actor ledger, from 3000 ms, to 16000 ms"), "{ledger}");
    let actors: Vec<&str> = ledger.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| step")).collect();
    assert!(!actors.is_empty());
    for row in actors {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        if !cells[1].is_empty() {
            assert!(cells[3].ends_with("ledger"), "{row}");
            let t: u64 = cells[2].parse().expect("time");
            assert!((3000..=16000).contains(&t), "{row}");
        }
    }
    let one = scn_env(&["run", file, "--message", "payment2", "--sections", "messages"], &[]);
    assert!(one.contains("payment2") && !one.contains("payment1"), "{one}");
}

#[test]
fn a_properties_style_setting_says_drop_the_equals_sign() {
    let (code, _, err) = scn(&["check", "scenarios/invalid/syntax-properties-style-setting.scn"]);
    assert_eq!(code, 2);
    assert!(err.contains("drop the `=` (`acks all`)"), "{err}");
}

#[test]
fn points_and_compare_take_several_files() {
    let (a, b) = ("scenarios/run/acks-1-leader-crash.scn", "scenarios/run/acks-0-leader-crash.scn");
    let (code, out, _) = scn(&["points", a, b]);
    assert_eq!(code, 0);
    let (_, only_a, _) = scn(&["points", a]);
    assert!(out.starts_with(&format!("# {a}\n{only_a}\n# {b}\n")), "{out}");
    // acks-1-leader-crash's `lost 3` fails under the other guarantees: the worst code, 1.
    let (code, out, _) = scn(&["compare", "scenarios/compare/seed-situations.scn", a]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.matches("scenario: ").count(), 2, "{out}");
    let (code, _, err) = scn(&["compare", "scenarios/compare/seed-situations.scn", a, "--plot", "x.svg"]);
    assert_eq!(code, 2);
    assert!(err.contains("--plot draws one comparison"), "{err}");
}

#[test]
fn a_run_past_the_memory_limit_stops_with_a_message() {
    // The million-message bench needs some 60 MiB (its message states alone 24 MB); at 16 MiB
    // it stops partway.
    let (code, out, err) = scn(&["run", "benches/million.scn", "--max-memory", "16MiB"]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "an incomplete run is not reported:\n{out}");
    assert!(err.contains("benches/million.scn: the run stopped at the memory limit ("), "{err}");
    assert!(err.contains("limit 16.0 MiB"), "{err}");
    assert!(err.contains("an incomplete run is not reported"), "{err}");
    // A run with room to spare is reported as ever.
    let (code, out, _) = scn(&["run", "scenarios/run/acks-1-leader-crash.scn", "--max-memory", "64MiB"]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing left to happen"), "{out}");
}

#[test]
fn the_memory_limit_comes_from_the_environment_and_refuses_bad_sizes() {
    let out = Command::new(env!("CARGO_BIN_EXE_scn"))
        .args(["run", "benches/million.scn"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SCN_MAX_MEMORY", "16MiB")
        .output()
        .expect("scn runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("limit 16.0 MiB"));
    let (code, _, err) = scn(&["run", "scenarios/run/acks-1-leader-crash.scn", "--max-memory", "lots"]);
    assert_eq!(code, 2);
    assert!(err.contains("`lots` is not a memory size"), "{err}");
}

#[test]
fn an_exploration_past_the_memory_limit_stops_like_a_budget() {
    let file = "scenarios/run/delivery-guarantees.scn";
    let (code, out, err) = scn(&["explore", file, "--faults", "2", "--check", "nonmonotonic", "--max-memory", "4MiB"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("stopped at the memory limit with about"), "{out}");
    assert!(out.contains("result: nothing breaks in the schedules tried (the search stopped before"), "{out}");
    assert!(out.contains("no (memory)"), "{out}");
    // A comparison that cannot finish is an error, not a table of incomplete runs.
    let (code, out, err) = scn(&["compare", "benches/million.scn", "--vary", "acks=1,all", "--max-memory", "64MiB"]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("the comparison stopped at the memory limit"), "{err}");
}

#[test]
fn actor_filters_keep_the_tracker_rows_after_that_actors_steps() {
    let file = "scenarios/run/at-least-once-consumer-reprocess.scn";
    let json = |extra: &[&str]| {
        let mut args = vec!["run", file, "--format", "json", "--sections", "tracker,steps", "--max-rows", "0"];
        args.extend_from_slice(extra);
        let (_, out, err) = scn(&args);
        serde_json::from_str::<serde_json::Value>(&out).unwrap_or_else(|e| panic!("{e}: {err}"))
    };
    let all = json(&[]);
    let only = json(&["--actor", "billing"]);
    let afters = |r: &serde_json::Value| -> Vec<String> {
        r["tracker"]["rows"].as_array().unwrap().iter().map(|t| t["after"].as_str().unwrap().to_string()).collect()
    };
    let billing: Vec<String> = all["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["actor"].as_str().unwrap().ends_with("billing"))
        .map(|s| s["step"].to_string())
        .collect();
    let kept = afters(&only);
    assert!(kept.len() < afters(&all).len(), "the filter dropped no tracker row");
    assert_eq!(kept.first().map(String::as_str), Some("start"));
    assert!(kept.len() > 2, "{kept:?}");
    for after in &kept[1..] {
        assert!(after == "final" || billing.contains(after), "tracker row after step {after}, not a billing step");
    }
}

/// Idle skipping (`src/sim/skip.rs`) changes nothing a user sees: every bundled run scenario's
/// JSON report, and an explored bound's result, are byte-identical with it turned off.
#[test]
fn idle_skipping_changes_no_output() {
    let mut files: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/run"))
        .expect("scenarios/run")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "scn"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    let explore = [
        "explore",
        "scenarios/run/at-least-once-producer-duplicate.scn",
        "--faults",
        "2",
        "--check",
        "nonmonotonic",
        "--budget",
        "1500",
        "--format",
        "json",
    ];
    let mut run = vec!["run", "--format", "json"];
    run.extend(files.iter().map(String::as_str));
    for args in [&run[..], &explore[..]] {
        let output = |off: bool| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_scn"));
            cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
            if off {
                cmd.env("SCN_NO_IDLE_SKIP", "1");
            }
            let out = cmd.output().expect("scn runs");
            (out.status.code(), String::from_utf8(out.stdout).expect("utf-8"))
        };
        let (on, off) = (output(false), output(true));
        assert!(on.1.len() > 500, "{args:?} printed a report");
        assert!(on == off, "{args:?}: output differs with idle skipping off");
    }
}
