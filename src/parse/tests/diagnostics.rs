//! Tests of the parser's diagnostics: syntax errors read in the language's words, lowering
//! problems (numbers out of range, duplicates) are all collected, and every
//! `scenarios/invalid/syntax-*.scn` renders with its place, its line and a caret.

use super::{StartLen, error, span_in};
use crate::ast::Value;
use crate::diag::Span;
use crate::parse::parse;

#[test]
fn missing_scenario_line() {
    let d = error("# no title\nseed 1\n");
    assert_eq!(d.message, "syntax error: a scenario file must start with `scenario \"title\"`");
    assert_eq!(d.span, Span::new(11, 11));
    assert_eq!(error("").message, d.message);
    assert_eq!(error("scenario\n").message, "syntax error: expected a quoted string");
}

#[test]
fn misspelt_keywords() {
    let src = "scenario \"x\"\nfaults {\n  crsh billing at 10ms\n}\n";
    let d = error(src);
    assert_eq!(
        d.message,
        "syntax error: expected `partition`, `request lost`, `ack lost`, `when`, `crash`, `restart`, `pause`, `resume`, `shutdown`, `heal`, `delete records` or `}`"
    );
    assert_eq!(
        d.label,
        "expected `partition`, `request lost`, `ack lost`, `when`, `crash`, `restart`, `pause`, `resume`, `shutdown`, `heal`, `delete records` or `}`"
    );
    assert_eq!(d.span, span_in(src, "crsh", 0).start_len(0));
    assert_eq!(d.notes, ["did you mean `crash`?"]);

    let d = error("scenario \"x\"\nprodcer shop {\n}\n");
    assert_eq!(
        d.message,
        "syntax error: expected `description`, `cluster`, `producer`, `consumer`, `processor`, `faults`, \
         `expect`, `track`, `network`, `seed`, `run` or end of file"
    );
    assert_eq!(d.notes, ["did you mean `producer`?"]);

    // A keyword must not run on into the next word.
    let d = error("scenario \"x\"\nseed7\n");
    assert!(d.message.starts_with("syntax error: expected `description`, `cluster`"), "{d:?}");
    let d = error("scenario \"x\"\nconsumer c {\n  commit after-processing\n}\nexpect { lots 2 }\n");
    assert_eq!(d.message, "syntax error: expected `processed`");
    assert_eq!(d.notes, ["did you mean `lost` instead of `lots`?"]);
}

#[test]
fn strings() {
    let src = "scenario \"x\"\nproducer p {\n  send to t value \"abc\n}\n";
    let d = error(src);
    assert_eq!(d.message, "syntax error: unterminated string");
    assert_eq!(d.label, "this string has no closing `\"`");
    assert_eq!(d.span, span_in(src, "\"abc", 0));
    let d = error("scenario \"a\\qb\"\n");
    assert_eq!(d.message, "syntax error: unknown escape `\\q` in a string");
    assert_eq!(d.span, Span::new(11, 13));
}

#[test]
fn punctuation_and_values() {
    let d = error("scenario \"x\"\ntrack [a b]\n");
    assert_eq!(d.message, "syntax error: expected `,` or `]`");
    assert_eq!(d.span, Span::new(22, 22));
    let d = error("scenario \"x\"\ncluster brokers 3\n");
    assert_eq!(d.message, "syntax error: expected `{`");
    let d = error("scenario \"x\"\nexpect {\n  log orders-0 message1\n}\n");
    assert_eq!(d.message, "syntax error: expected a list like `[message1, message2]`");
    let d = error("scenario \"x\"\nproducer p {\n  acks\n}\n");
    assert_eq!(d.message, "syntax error: expected a value like `all`, `3`, `100ms`, `true` or `\"text\"`");
    assert_eq!(d.notes, ["the setting `acks` needs a value"]);
    let d = error("scenario \"x\"\nrun for 100 ms\n");
    assert_eq!(d.message, "syntax error: expected a duration like `100ms`");
    assert_eq!(d.span, Span::new(21, 21));
    let d = error("scenario \"x\"\nproducer p {\n  guarantee\n}\n");
    assert!(d.message.contains("`at-most-once`"), "{d:?}");
    let d = error("scenario \"x\"\nfaults { crash 5 }\n");
    assert_eq!(d.message, "syntax error: expected `broker N`, `leader of TOPIC-N` or a client name");
    let d = error("scenario \"x\"\nfaults { restart b }\n");
    assert_eq!(d.message, "syntax error: expected `at` or `after`");
    let d = error("scenario \"x\"\nexpect {\n  7\n}\n");
    assert_eq!(
        d.message,
        "syntax error: expected `lost`, `duplicates`, `delivered`, `lost to retention`, `message`, `log`, \
         a consumer \
         name or `}`"
    );
    let d = error("scenario \"x\"\nfaults { when billing processes 5 crash billing }\n");
    assert_eq!(d.message, "syntax error: expected a message like `message3`");
    // (`m` may be a producer: `message m send 3 lost` names its third message.)
    let d = error("scenario \"x\"\nexpect { message m lsot }\n");
    assert_eq!(d.message, "syntax error: expected `send`, `lost`, `delivered`, `duplicated`, `failed` or `aborted`");
    let d = error("scenario \"x\"\nproducer p {\n  acks all\n\nconsumer c {\n}\n");
    assert_eq!(d.message, "syntax error: expected `guarantee`, `send`, `transaction`, a setting name or `}`");
    assert_eq!(d.notes, ["is the block above missing its closing `}`?"]);
}

#[test]
fn second_scenario_or_description() {
    let d = error("scenario \"x\"\nscenario \"y\"\n");
    assert_eq!(d.message, "syntax error: `scenario` may appear only once, on the first line");
    let d = error("scenario \"x\"\ndescription \"a\"\ndescription \"b\"\n");
    assert_eq!(d.message, "syntax error: `description` may appear only once, right after the `scenario` line");
}

#[test]
fn numbers_out_of_range() {
    let src = "scenario \"x\"\nseed 99999999999999999999\n";
    let d = error(src);
    assert_eq!(d.message, "number too large");
    assert_eq!(d.label, "at most 18446744073709551615");
    assert_eq!(d.span, span_in(src, "99999999999999999999", 0));
}

#[test]
fn numbers_at_the_limit_parse() {
    let file = parse("scenario \"x\"\nseed 18446744073709551615\nnetwork { a -9223372036854775808 }\n");
    let file = file.expect("limits parse");
    assert_eq!(file.seed.map(|s| s.node), Some(u64::MAX));
    assert_eq!(file.network[0].value.node, Value::Int(i64::MIN));
}

#[test]
fn every_lowering_problem_is_reported() {
    let src = "scenario \"x\"
seed 1
seed 2
run for 99999999999999999999m
network { big 9223372036854775808  small -9223372036854775809 }
faults { crash leader of t-99999999999999999999 }
";
    let diags = parse(src).expect_err("problems");
    let got: Vec<(&str, &str)> = diags.0.iter().map(|d| (d.message.as_str(), d.label.as_str())).collect();
    assert_eq!(
        got,
        [
            ("duplicate `seed`", "declared again here"),
            ("duration too large", "at most 18446744073709551615ms"),
            ("partition number too large", "at most 18446744073709551615"),
        ]
    );
    assert_eq!(diags.0[0].notes, ["first declared at line 2"]);
    assert_eq!(diags.0[0].span, span_in(src, "seed 2", 0));
}

#[test]
fn setting_values_past_i64_saturate_for_check_to_range_check() {
    // Check then says the setting's own range, the same for `-1` as for 2^64 - 1.
    let file =
        parse("scenario \"x\"\nnetwork { big 18446744073709551615  small -9223372036854775809 }\n").expect("parses");
    assert_eq!(file.network[0].value.node, Value::Int(i64::MAX));
    assert_eq!(file.network[1].value.node, Value::Int(i64::MIN));
}

#[test]
fn duplicates() {
    let cases = [
        ("seed 1\nseed 2\n", "seed"),
        ("run for 1s\nrun for 2s\n", "run for"),
        ("cluster { }\ncluster { }\n", "cluster"),
        ("cluster { brokers 1\n brokers 2 }\n", "brokers"),
        ("track []\ntrack [a]\n", "track"),
        ("producer p { guarantee exactly-once\n guarantee at-most-once }\n", "guarantee"),
        ("consumer c { guarantee exactly-once\n guarantee at-most-once }\n", "guarantee"),
        ("consumer c { commit none\n commit none }\n", "commit"),
        ("consumer c { start at 1ms\n start at 2ms }\n", "start at"),
        ("producer p { send to t key \"a\"\n key \"b\" }\n", "key"),
    ];
    for (body, what) in cases {
        let src = format!("scenario \"x\"\n{body}");
        let d = error(&src);
        assert_eq!(d.message, format!("duplicate `{what}`"), "{src}");
        assert_eq!(d.notes, ["first declared at line 2"], "{src}");
        assert_eq!(crate::diag::line_col(&src, d.span.start).0, 3, "{src}");
    }
}

/// A statement keyword is never read as a setting, so a malformed statement fails at its
/// argument; a misspelt keyword still reads as a setting, which `check` reports as unknown.
#[test]
fn statement_keywords_are_never_settings() {
    let d = error("scenario \"x\"\nconsumer c { commit sometimes }\n");
    assert_eq!(d.message, "syntax error: expected `before-processing`, `after-processing` or `none`");
    assert_eq!(d.span.start, "scenario \"x\"\nconsumer c { commit ".len());
    let file = parse("scenario \"x\"\nproducer p { sned 1 }\n").expect("parses as a setting");
    assert_eq!(file.producers[0].settings[0].key.node, "sned");
}

#[test]
fn repeatable_blocks_accumulate() {
    let src = "scenario \"x\"
network { latency 1ms }
faults { crash a at 1ms }
network { jitter 2ms }
faults { crash b at 2ms }
expect { lost 0 }
expect { delivered 1 }
consumer c { subscribe a group g  subscribe b group g }
";
    let file = parse(src).expect("parses");
    assert_eq!(file.network.len(), 2);
    assert_eq!(file.faults.len(), 2);
    assert_eq!(file.expects.len(), 2);
    assert_eq!(file.consumers[0].subscribes.len(), 2);
    assert!(file.cluster.is_none() && file.track.is_none() && file.seed.is_none());
}

#[test]
fn errors_render_with_a_caret() {
    for (src, what) in [("seed 1\n", "-->"), ("scenario \"x\"\nseed 1\nseed 2\n", "note: first declared")] {
        let diags = parse(src).expect_err("broken");
        let text = diags.render("t.scn", src);
        assert!(text.contains(what) && text.contains('^'), "{text}");
    }
}

/// Every `scenarios/invalid/syntax-*.scn` fails to parse with one syntax error that renders with
/// its place, the source line and a caret.
#[test]
fn invalid_syntax_scenarios() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/invalid");
    let mut seen = 0;
    let entries = std::fs::read_dir(&dir).expect("scenarios/invalid exists");
    for entry in entries {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if !(name.starts_with("syntax-") && name.ends_with(".scn")) {
            continue;
        }
        seen += 1;
        let src = std::fs::read_to_string(&path).expect("readable");
        assert!(src.starts_with('#'), "{name} starts with a comment saying what is wrong");
        let diags = parse(&src).expect_err(&name);
        // One error a file, but for the file that shows recovery (one a broken block).
        let want = if name == "syntax-several-errors.scn" { 3 } else { 1 };
        assert_eq!(diags.0.len(), want, "{name}: {diags}");
        assert!(diags.0.iter().all(|d| d.message.starts_with("syntax error")), "{name}: {diags}");
        let shown = format!("scenarios/invalid/{name}");
        let text = diags.render(&shown, &src);
        assert!(text.contains(&format!("--> {shown}:")), "{text}");
        assert!(text.contains('^') && text.contains(" | "), "{text}");
        if let Some(expected) = expected_syntax_message(&name) {
            assert_eq!(diags.0[0].message, expected, "{name}");
        }
    }
    assert!(seen >= 6, "only {seen} syntax-*.scn scenarios");
}

fn expected_syntax_message(name: &str) -> Option<&'static str> {
    Some(match name {
        "syntax-missing-scenario.scn" => "syntax error: a scenario file must start with `scenario \"title\"`",
        "syntax-unterminated-string.scn" => "syntax error: unterminated string",
        "syntax-misspelt-keyword.scn" => {
            "syntax error: expected `partition`, `request lost`, `ack lost`, `when`, `crash`, `restart`, `pause`, `resume`, `shutdown`, `heal`, `delete records` or `}`"
        }
        "syntax-duration-with-space.scn" => "syntax error: expected a duration like `100ms`",
        "syntax-missing-brace.scn" => {
            "syntax error: expected `guarantee`, `send`, `transaction`, a setting name or `}`"
        }
        "syntax-setting-without-value.scn" => {
            "syntax error: expected a value like `all`, `3`, `100ms`, `true` or `\"text\"`"
        }
        "syntax-bad-crash-point.scn" => "syntax error: expected `send`, `commit`, `poll` or `processing`",
        "syntax-unknown-expect.scn" => "syntax error: expected `processed`",
        _ => return None,
    })
}
