//! Issue 10's repros that do not fit a scenario file (too large, or a property of every
//! bundled scenario), and the limits near their edge: each input is refused with a diagnostic
//! inside the file, or accepted, and never crashes.

const HEAD: &str = "scenario \"limits\"\ncluster { brokers 1  topic orders { partitions 1 }  topic ledger { partitions 1 } }\nproducer shop { send 2 to orders }\n";

/// A processor whose output has `expr` as its value.
fn with_value(expr: &str) -> String {
    format!("{HEAD}processor copy {{ consume orders group copy  output ledger value {expr} }}\n")
}

/// The messages of every diagnostic, after checking that each points inside the source.
fn rejected(source: &str) -> Vec<String> {
    let diags = match scn::load(source) {
        Ok(_) => panic!("should be rejected"),
        Err(d) => d.0,
    };
    for d in &diags {
        assert!(d.span.start <= d.span.end && d.span.end <= source.len(), "{} points outside the file", d.message);
    }
    diags.into_iter().map(|d| format!("{}: {}", d.message, d.label)).collect()
}

#[test]
fn forty_thousand_terms_are_refused_not_a_stack_overflow() {
    let sum = format!("value{}", " + value".repeat(40_000));
    assert_eq!(
        rejected(&with_value(&sum)),
        ["expression too long: expected at most 256 operands and operators, found 80001"]
    );
    let nots = format!("{}(value == \"x\")", "!".repeat(40_000));
    assert_eq!(rejected(&with_value(&nots)).len(), 1);
}

#[test]
fn nesting_is_refused_past_the_depth_limit_and_evaluated_below_it() {
    let nested = |n: usize, open: &str| format!("{}value{}", open.repeat(n), ")".repeat(n));
    for open in ["(", "upper("] {
        assert_eq!(
            rejected(&with_value(&nested(3_200, open))),
            ["expression nested too deeply: expected at most 32 levels of parentheses and function calls"]
        );
        let model = scn::load(&with_value(&nested(32, open))).expect("32 levels are allowed");
        assert_eq!(model.total_messages, 4, "two inputs, two outputs");
    }
}

#[test]
fn the_longest_allowed_expression_evaluates_on_a_small_stack() {
    // Trees as deep as the term limit allows, checked on a thread with a 1 MiB stack (test
    // threads and rayon's have 2 MiB, the main thread 8 MiB). 253 `!`, `value`, `==`, `"x"`:
    // 256 terms; an odd number of `!` over false is true, so both inputs make an output.
    let nots = format!("{}(value == \"x\")", "!".repeat(253));
    // `value` and 127 `+ 1`: 255 terms, a left-deep chain 127 levels deep.
    let sum = format!("value{}", " + 1".repeat(127));
    for (expr, outputs) in [(format!("when {nots}"), 2), (format!("value {sum}"), 2)] {
        let source = format!("{HEAD}processor copy {{ consume orders group copy  output ledger {expr} }}\n");
        let total = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || scn::load(&source).map(|m| m.total_messages))
            .expect("thread")
            .join()
            .expect("no stack overflow");
        assert_eq!(total, Ok(2 + outputs));
    }
    let too_long = format!("{}(value == \"x\")", "!".repeat(254));
    assert_eq!(
        rejected(&with_value(&too_long)),
        ["expression too long: expected at most 256 operands and operators, found 257"]
    );
}

#[test]
fn eighty_thousand_placeholders_are_refused_quickly() {
    let source = HEAD.replace("send 2 to orders", &format!("send 2 to orders value \"{}\"", "{i}".repeat(80_000)));
    let start = std::time::Instant::now();
    assert_eq!(rejected(&source), ["string too long: expected at most 4096 bytes, found 240000"]);
    // Generous bound for a debug build on a busy machine; rendering took 11 s before.
    assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
}

#[test]
fn a_value_growing_through_processors_is_stopped() {
    // Each processor doubles its input eight times over: 4 KiB values pass 64 KiB at the second.
    let source = format!(
        "scenario \"growth\"\ncluster {{ brokers 1  topic a {{ partitions 1 }}  topic b {{ partitions 1 }}  topic c {{ partitions 1 }} }}\n\
         producer shop {{ send 1 to a value \"{}\" }}\n\
         processor p1 {{ consume a group p1  output b value {sum} }}\n\
         processor p2 {{ consume b group p2  output c value {sum} }}\n",
        "x".repeat(4_000),
        sum = format!("value{}", " + value".repeat(15)),
    );
    let msgs = rejected(&source);
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(msgs[0].starts_with("cannot evaluate this value for the input"), "{msgs:?}");
    assert!(msgs[0].contains("at most 65536 are allowed"), "{msgs:?}");
}

#[test]
fn a_byte_order_mark_and_crlf_line_endings_are_accepted() {
    let source = format!("\u{FEFF}{}", HEAD.replace('\n', "\r\n"));
    let model = scn::load(&source).expect("BOM and CR LF are fine");
    assert_eq!(model.total_messages, 2);
}

#[test]
fn utf8_errors_point_at_the_bad_byte() {
    let (diags, shown) = scn::diag::decode(b"scenario \"x\"\n# caf\xC3\n".to_vec()).expect_err("not UTF-8");
    let text = diags.render("x.scn", &shown);
    assert!(text.contains("x.scn:2:6"), "{text}");
    assert!(text.contains("found the byte 0xC3"), "{text}");
    assert_eq!(scn::diag::decode(b"ok".to_vec()).ok().as_deref(), Some("ok"));
}

/// Fault names are the pasteable form: written back into the scenario as fault lines, each
/// checks and names the same fault (quoted values keep their quotes).
#[test]
fn every_fault_name_parses_back() {
    let quoted = format!(
        "{HEAD}consumer billing {{ subscribe orders group billing }}\n\
         faults {{ crash billing before processing \"500\"  crash billing after processing \"a \\\"b\\\"\" }}\n"
    )
    .replace("send 2 to orders", "send to orders value \"500\"  send to orders value \"a \\\"b\\\"\"");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/run");
    let mut sources = vec![quoted];
    for entry in std::fs::read_dir(dir).expect("scenarios/run") {
        sources.push(std::fs::read_to_string(entry.expect("entry").path()).expect("readable"));
    }
    let mut names = 0;
    for source in sources {
        let model = scn::load(&source).expect("valid");
        for f in &model.faults {
            let again = format!("{source}\nfaults {{\n  {}\n}}\n", f.name);
            let model2 = scn::load(&again).unwrap_or_else(|d| panic!("`{}` does not parse back: {d}", f.name));
            assert_eq!(model2.faults.last().map(|g| &g.name), Some(&f.name));
            names += 1;
        }
    }
    assert!(names >= 20, "only {names} fault names tried");
}

/// Found by `cargo fuzz run check` (a timeout): a processor without an output over 10,000,000
/// messages still rendered every input's key and value. Both shapes now refuse at once.
#[test]
fn a_processor_over_the_most_messages_is_refused_quickly() {
    let base = "scenario \"x\"\ncluster { brokers 1  topic orders { partitions 1 }  topic ledger { partitions 1 } }\n\
                producer shop { send 10000000 to orders }\n";
    let start = std::time::Instant::now();
    let no_output = format!("{base}processor copy {{ consume orders group copy }}\n");
    assert_eq!(
        rejected(&no_output),
        ["processor `copy` has no output: expected an `output TOPIC value EXPR` line in this block"]
    );
    let one_too_many = format!("{base}processor copy {{ consume orders group copy  output ledger }}\n");
    assert_eq!(
        rejected(&one_too_many),
        ["too many messages: a scenario holds at most 10000000 messages in all, processors' output records included"]
    );
    // Generous for a debug build beside other work; it took over 10 s under the fuzzer.
    assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
}

/// Found by `cargo fuzz run run`: `scn points` quoted values with Rust's escapes (`"\0late1"`),
/// which the language does not read. Every point line must check as a fault line.
#[test]
fn every_point_parses_back_whatever_the_value_holds() {
    let source = "scenario \"x\"\ncluster { brokers 1  topic orders { partitions 1 } }\n\
                  producer shop { send to orders value \"\u{0}late\"  send to orders value \"a \\\"b\\\" \\\\ c\\td\" }\n\
                  consumer billing { subscribe orders group billing  auto.offset.reset earliest }\n";
    let model = scn::load(source).expect("valid");
    let points = scn::sim::fault_points(&model);
    let processing: Vec<&String> = points.iter().filter(|p| p.contains("processing")).collect();
    assert!(processing.len() >= 4, "{points:?}");
    for p in points {
        let again = format!("{source}faults {{\n  {p}\n}}\n");
        assert!(scn::load(&again).is_ok(), "`{p}` does not check back");
    }
}

/// Found by `cargo fuzz run run` and left open until now: a processor's output records that
/// share a value were named by it, so their points were refused as ambiguous when pasted back.
/// They are named by the processor's send (`tally send 2`), and each names its own record.
#[test]
fn processor_outputs_sharing_a_value_are_named_by_their_send() {
    let source = "scenario \"x\"\ncluster { brokers 1  topic orders { partitions 1 }  topic receipts { partitions 1 } }\n\
                  producer shop { send 3 to orders value \"order{i}\" }\n\
                  processor tally { consume orders group tally  output receipts value \"receipt\" }\n\
                  consumer audit { subscribe receipts group audit  auto.offset.reset earliest }\n";
    let model = scn::load(source).expect("valid");
    let points = scn::sim::fault_points(&model);
    let named: Vec<&String> = points.iter().filter(|p| p.contains("processing tally send")).collect();
    assert!(named.len() >= 6, "{points:?}");
    assert!(!points.iter().any(|p| p.contains("receipt")), "{points:?}");
    for p in points {
        let again = format!("{source}faults {{\n  {p}\n}}\n");
        assert!(scn::load(&again).is_ok(), "`{p}` does not check back");
    }
}
