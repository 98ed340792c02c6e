//! Syntax errors: turns a pest parse failure into a [`Diagnostic`] that names what was expected
//! in the words of the language ("a duration like `100ms`"), never in grammar rule names.

use super::Rule;
use crate::diag::{Diagnostic, Span};
use pest::error::{Error, ErrorVariant, InputLocation};

/// Converts a pest error into one diagnostic pointing at the place parsing stopped.
///
/// pest reports the grammar rules that failed furthest into the file; punctuation (`{`, `}`,
/// `[`, `]`, `,`) is not a rule, so it is read from pest's detailed parse attempts, which
/// [`super::parse`] switches on.
pub(super) fn syntax_error(err: &Error<Rule>, source: &str) -> Diagnostic {
    let pos = match err.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    }
    .min(source.len());
    match &err.variant {
        ErrorVariant::ParsingError { positives, negatives } => {
            let punctuation = err.parse_attempts().map(|attempts| {
                // pest does not export the token type; its text is the literal itself.
                let found = attempts.expected_tokens().into_iter().filter_map(|token| punctuation(&token.to_string()));
                (attempts.max_position.min(source.len()), found.collect())
            });
            parsing_error(positives, negatives, pos, punctuation, source)
        }
        ErrorVariant::CustomError { message } => {
            Diagnostic::new(format!("syntax error: {message}"), Span::new(pos, pos)).label(message.clone())
        }
    }
}

/// Punctuation the language uses between rules, with its rank in an expected-list.
fn punctuation(token: &str) -> Option<(u16, &'static str)> {
    match token {
        "{" => Some((900, "`{`")),
        "," => Some((901, "`,`")),
        "]" => Some((902, "`]`")),
        "}" => Some((903, "`}`")),
        "[" => Some((904, "`[`")),
        _ => None,
    }
}

/// Where pest last expected punctuation, and which.
type Punctuation = Option<(usize, Vec<(u16, &'static str)>)>;

fn parsing_error(
    positives: &[Rule],
    negatives: &[Rule],
    pos: usize,
    punctuation: Punctuation,
    source: &str,
) -> Diagnostic {
    if positives.contains(&Rule::kw_scenario) || positives.contains(&Rule::scenario_decl) {
        return Diagnostic::new(
            "syntax error: a scenario file must start with `scenario \"title\"`",
            Span::new(pos, pos),
        )
        .label("expected `scenario \"...\"` here")
        .note("the first line names the scenario, for example `scenario \"Lost ack\"`");
    }
    if positives.contains(&Rule::string) && source[pos..].starts_with('"') {
        if let Some(diag) = bad_string(source, pos) {
            return diag;
        }
    }

    // Punctuation expected further on than any rule means every rule up to there matched and
    // only a separator or closing bracket was missing: report that, where it was missing.
    let punctuation = punctuation.map(|(max, mut found)| {
        // "a list like `[...]`" already says that the list opens with `[`.
        if positives.contains(&Rule::message_list) {
            found.retain(|&(_, p)| p != "`[`");
        }
        (max, found)
    });
    let (at, mut expected) = match punctuation {
        Some((max, found)) if max > pos && !found.is_empty() => (max, found),
        Some((max, found)) if max == pos => (pos, [phrases(positives), found].concat()),
        _ => (pos, phrases(positives)),
    };
    if positives.contains(&Rule::count_kind) {
        // At the start of an expect line, the name begins `billing processed ...`.
        for (_, phrase) in &mut expected {
            if *phrase == "a name" {
                *phrase = "a consumer name";
            }
        }
    }
    expected.sort_by_key(|&(rank, _)| rank);
    let expected = join(&expected);
    let unexpected = join(&phrases(negatives));

    let word = word_at(source, at);
    let message = match (expected.is_empty(), unexpected.is_empty()) {
        _ if word == "scenario" && expected.contains("`cluster`") => {
            "syntax error: `scenario` may appear only once, on the first line".to_string()
        }
        _ if word == "description" && expected.contains("`cluster`") => {
            "syntax error: `description` may appear only once, right after the `scenario` line".to_string()
        }
        (false, true) => format!("syntax error: expected {expected}"),
        (false, false) => format!("syntax error: expected {expected}, not {unexpected}"),
        (true, false) => format!("syntax error: unexpected {unexpected}"),
        (true, true) => "syntax error".to_string(),
    };
    let label = match (expected.is_empty(), unexpected.is_empty()) {
        (false, _) => format!("expected {expected}"),
        (true, false) => format!("unexpected {unexpected}"),
        (true, true) => "here".to_string(),
    };
    let mut diag = Diagnostic::new(message, Span::new(at, at)).label(label);
    // The hints below read the rules that failed at `at`; none did when punctuation moved it.
    let positives = if at == pos { positives } else { &[] };
    if let Some(keyword) = did_you_mean(word, positives) {
        diag = diag.note(format!("did you mean `{keyword}`?"));
    } else if positives == [Rule::kw_processed] {
        // `lots 2` reads as a consumer called `lots`: the word before is the likely slip.
        let before = previous_word(source, at);
        let starts = ["lost", "duplicates", "delivered", "message", "log"];
        if let Some(keyword) = closest(before, &starts) {
            diag = diag.note(format!("did you mean `{keyword}` instead of `{before}`?"));
        }
    }
    if positives == [Rule::config_value] && !source[at..].starts_with('=') {
        let key = previous_word(source, at);
        if !key.is_empty() {
            diag = diag.note(format!("the setting `{key}` needs a value"));
        }
    }
    if let Some(value) = source[at..].strip_prefix('=') {
        // `acks=all`, as in a .properties file.
        let key = previous_word(source, at);
        let value = value.split_whitespace().next().unwrap_or("VALUE");
        diag = diag.note(format!("a setting is `key value`: drop the `=` (`{key} {value}`)"));
    }
    if expected.contains("`}`") && source[at..].starts_with('{') {
        diag = diag.note("is the block above missing its closing `}`?");
    }
    diag
}

fn phrases(rules: &[Rule]) -> Vec<(u16, &'static str)> {
    rules
        .iter()
        .flat_map(|&r| {
            let (rank, words) = describe(r);
            words.iter().map(move |&w| (rank, w))
        })
        .collect()
}

/// `a`, `a or b`, `a, b or c`; repeated phrases appear once, where they first appear.
fn join(phrases: &[(u16, &'static str)]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for &(_, p) in phrases {
        if !seen.contains(&p) {
            seen.push(p);
        }
    }
    match seen.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// What a rule looks like to a user, and where it sorts in an expected-list.
fn describe(rule: Rule) -> (u16, &'static [&'static str]) {
    match rule {
        Rule::kw_scenario | Rule::scenario_decl => (0, &["`scenario \"title\"`"]),
        Rule::kw_description | Rule::description_decl => (10, &["`description`"]),
        Rule::item => (
            11,
            &[
                "`cluster`",
                "`producer`",
                "`consumer`",
                "`faults`",
                "`expect`",
                "`track`",
                "`network`",
                "`seed`",
                "`run`",
            ],
        ),
        Rule::kw_cluster | Rule::cluster_block => (11, &["`cluster`"]),
        Rule::kw_producer | Rule::producer_block => (12, &["`producer`"]),
        Rule::kw_consumer | Rule::consumer_block => (13, &["`consumer`"]),
        Rule::kw_faults | Rule::faults_block => (14, &["`faults`"]),
        Rule::kw_expect | Rule::expect_block => (15, &["`expect`"]),
        Rule::kw_track | Rule::track_block => (16, &["`track`"]),
        Rule::kw_network | Rule::network_block => (17, &["`network`"]),
        Rule::kw_seed | Rule::seed_decl => (18, &["`seed`"]),
        Rule::kw_run | Rule::run_decl => (19, &["`run`"]),
        Rule::kw_for => (20, &["`for`"]),

        // cluster, producer and consumer statements
        Rule::kw_brokers | Rule::brokers_stmt => (100, &["`brokers`"]),
        Rule::kw_topic | Rule::topic_block => (101, &["`topic`"]),
        Rule::cluster_stmt => (100, &["`brokers`", "`topic`", "a setting"]),
        Rule::kw_guarantee | Rule::guarantee_stmt => (110, &["`guarantee`"]),
        Rule::kw_subscribe | Rule::subscribe_stmt => (111, &["`subscribe`"]),
        Rule::kw_assign | Rule::assign_stmt => (111, &["`assign`"]),
        Rule::kw_send | Rule::send_stmt => (112, &["`send`"]),
        Rule::producer_stmt => (110, &["`guarantee`", "`send`", "a setting"]),
        Rule::kw_commit | Rule::commit_stmt => (113, &["`commit`"]),
        Rule::kw_start | Rule::start_stmt => (114, &["`start at`"]),
        Rule::consumer_stmt => {
            (110, &["`guarantee`", "`subscribe`", "`assign`", "`commit`", "`start at`", "a setting"])
        }
        Rule::kw_group => (115, &["`group`"]),
        Rule::kw_to => (116, &["`to`"]),
        Rule::kw_key | Rule::send_key => (120, &["`key`"]),
        Rule::kw_value | Rule::send_value => (121, &["`value`"]),
        Rule::kw_partition | Rule::send_partition => (122, &["`partition`"]),
        Rule::send_at => (123, &["`at`"]),
        Rule::kw_every | Rule::send_every => (124, &["`every`"]),
        Rule::send_option => (120, &["`key`", "`value`", "`partition`", "`at`", "`every`"]),
        Rule::config_key => (130, &["a setting name"]),
        Rule::setting => (130, &["a setting"]),
        Rule::statement_keyword => (130, &["a statement"]),
        Rule::kw_transaction | Rule::transaction_block => (113, &["`transaction`"]),
        Rule::txn_end => (114, &["`commit` or `abort`"]),
        Rule::kw_processor | Rule::processor_block => (14, &["`processor`"]),
        Rule::kw_pause | Rule::pause_stmt => (205, &["`pause`"]),
        Rule::kw_shutdown | Rule::shutdown_stmt => (207, &["`shutdown`"]),
        Rule::partition_stmt => (208, &["`partition`"]),
        Rule::kw_heal | Rule::heal_stmt => (209, &["`heal`"]),
        Rule::kw_delete | Rule::delete_stmt => (214, &["`delete records`"]),
        Rule::kw_records => (215, &["`records`"]),
        Rule::kw_from => (210, &["`from`"]),
        Rule::endpoint => (211, &["`broker N`", "`controller`", "a client name"]),
        Rule::point_after_offsets => (240, &["`after sending offsets N`"]),
        Rule::point_after_commit_request => (241, &["`after requesting commit N`"]),
        Rule::kw_resume | Rule::resume_stmt => (206, &["`resume`"]),
        Rule::kw_consume | Rule::consume_stmt => (115, &["`consume`"]),
        Rule::kw_output | Rule::output_stmt => (116, &["`output`"]),
        Rule::output_key => (117, &["`key`"]),
        Rule::output_value => (118, &["`value`"]),
        Rule::output_when => (119, &["`when`"]),
        Rule::expr
        | Rule::or_expr
        | Rule::and_expr
        | Rule::cmp_expr
        | Rule::sum_expr
        | Rule::prod_expr
        | Rule::unary => (400, &["an expression"]),
        Rule::call => (401, &["a function call like `upper(value)`"]),
        Rule::func => (402, &["`upper`, `lower`, `int`, `str` or `len`"]),
        Rule::field => (403, &["`key` or `value`"]),
        Rule::op_or | Rule::op_and | Rule::op_cmp | Rule::op_add | Rule::op_mul => (404, &["an operator"]),
        Rule::op_not => (405, &["`!`"]),
        Rule::atom => (400, &["an expression"]),
        Rule::processor_stmt => (14, &["a processor statement"]),
        Rule::config_value => (131, &["a value like `all`, `3`, `100ms`, `true` or `\"text\"`"]),
        Rule::guarantee => (140, &["`at-most-once`", "`at-least-once`", "`exactly-once`"]),
        Rule::commit_mode => (141, &["`before-processing`", "`after-processing`", "`none`"]),

        // faults
        Rule::lost_kind | Rule::lost_stmt => (200, &["`request lost`", "`ack lost`"]),
        Rule::lost_send | Rule::lost_other | Rule::lost_request => {
            (200, &["`send N`", "`fetch N`", "`commit N`", "`txn N`", "`marker N`"])
        }
        Rule::kw_when | Rule::when_stmt => (201, &["`when`"]),
        Rule::when_pause => (205, &["`pause`"]),
        Rule::msg_by_send => (300, &["a message: its value, or `PRODUCER send N`"]),
        Rule::when_resume => (206, &["`resume`"]),
        Rule::when_shutdown => (207, &["`shutdown`"]),
        Rule::when_partition => (208, &["`partition`"]),
        Rule::when_heal => (209, &["`heal`"]),
        Rule::when_delay => (220, &["`after`"]),
        Rule::kw_crash | Rule::crash_stmt | Rule::crash_action => (202, &["`crash`"]),
        Rule::kw_restart | Rule::restart_stmt | Rule::restart_action => (203, &["`restart`"]),
        Rule::fault_stmt => (200, &["`request lost`", "`ack lost`", "`when`", "`crash`", "`restart`"]),
        Rule::kw_lost => (204, &["`lost`"]),
        Rule::kw_attempt | Rule::attempt => (205, &["`attempt`"]),
        Rule::kw_then => (206, &["`then`"]),
        Rule::target => (210, &["`broker N`", "`leader of TOPIC-N`", "a client name"]),
        Rule::kw_broker | Rule::broker_target => (210, &["`broker`"]),
        Rule::kw_leader | Rule::leader_target => (211, &["`leader`"]),
        Rule::kw_controller | Rule::controller_target => (211, &["`controller`"]),
        Rule::client_target => (212, &["a client name"]),
        Rule::kw_of => (213, &["`of`"]),
        Rule::crash_point => (220, &["`at`", "`after`", "`before`"]),
        Rule::restart_time => (220, &["`at`", "`after`"]),
        Rule::kw_at | Rule::point_at | Rule::restart_at => (220, &["`at`"]),
        Rule::kw_after
        | Rule::restart_after
        | Rule::point_after_poll
        | Rule::point_after_commit_before
        | Rule::point_after_commit
        | Rule::point_after_send
        | Rule::point_after_processing => (221, &["`after`"]),
        Rule::kw_before | Rule::point_before_processing => (222, &["`before`"]),
        Rule::kw_commits => (230, &["`commits`"]),
        Rule::kw_processes => (232, &["`processes`"]),
        Rule::kw_poll => (233, &["`poll`"]),
        Rule::kw_processing => (234, &["`processing`"]),
        Rule::kw_offset => (235, &["`offset`"]),
        Rule::kw_on => (236, &["`on`"]),
        Rule::kw_is => (237, &["`is`"]),
        Rule::kw_acked => (238, &["`acked`"]),
        Rule::condition => {
            (240, &["`CONSUMER commits offset N`", "`PRODUCER send N is acked`", "`CONSUMER processes MESSAGE`"])
        }
        Rule::cond_commits => (240, &["`CONSUMER commits offset N`"]),
        Rule::cond_acked => (241, &["`PRODUCER send N is acked`"]),
        Rule::cond_processes => (242, &["`CONSUMER processes MESSAGE`"]),

        // expect
        Rule::count_kind | Rule::expect_count => {
            (300, &["`lost`", "`duplicates`", "`delivered`", "`lost to retention`"])
        }
        Rule::kw_message | Rule::expect_message => (301, &["`message`"]),
        Rule::kw_log | Rule::expect_log => (302, &["`log`"]),
        Rule::expect_processed_list | Rule::expect_processed_count => (303, &["`NAME processed`"]),
        Rule::expect_stmt => {
            (300, &["`lost`", "`duplicates`", "`delivered`", "`message`", "`log`", "`NAME processed`"])
        }
        Rule::kw_processed => (304, &["`processed`"]),
        Rule::outcome_kind => (310, &["`lost`", "`delivered`", "`duplicated`", "`failed`", "`aborted`"]),
        Rule::track_var => (320, &["a variable like `billing.position`"]),

        // values and names
        Rule::name => (500, &["a name"]),
        Rule::partition_ref => (501, &["a partition like `orders-0`"]),
        Rule::partition_suffix => (501, &["a partition number like `-0`"]),
        Rule::message_ref => (502, &["a message like `message3`"]),
        Rule::message_list => (503, &["a list like `[message1, message2]`"]),
        Rule::duration => (510, &["a duration like `100ms`"]),
        Rule::int => (511, &["a number"]),
        Rule::negative => (512, &["a negative number"]),
        Rule::boolean => (513, &["`true`", "`false`"]),
        Rule::string => (514, &["a quoted string"]),
        Rule::string_inner => (514, &["the text of a string"]),
        Rule::word => (515, &["a word"]),
        Rule::version => (516, &["a version like `3.8`"]),

        // never reported by pest, named for completeness
        Rule::file => (600, &["a scenario"]),
        Rule::bom => (601, &["a byte order mark"]),
        Rule::WHITESPACE => (601, &["whitespace"]),
        Rule::COMMENT => (602, &["a comment"]),
        Rule::kw_end => (603, &["the end of the word"]),
        Rule::EOI => (999, &["end of file"]),
    }
}

/// Whether the string starting at `at` (a `"`) is unterminated or holds an unknown escape.
fn bad_string(source: &str, at: usize) -> Option<Diagnostic> {
    let mut chars = source[at..].char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return None,
            '\n' => break,
            '\\' => match chars.next() {
                Some((_, '"' | '\\' | 'n' | 't')) => {}
                Some((j, e)) if e != '\n' => {
                    let span = Span::new(at + i, at + j + e.len_utf8());
                    return Some(
                        Diagnostic::new(format!("syntax error: unknown escape `\\{e}` in a string"), span)
                            .label("unknown escape")
                            .note("a string may use `\\\"`, `\\\\`, `\\n` and `\\t`"),
                    );
                }
                _ => break,
            },
            _ => {}
        }
    }
    let line_end = source[at..].find('\n').map_or(source.len(), |n| at + n);
    Some(
        Diagnostic::new("syntax error: unterminated string", Span::new(at, line_end.max(at + 1).min(source.len())))
            .label("this string has no closing `\"`")
            .note("a string ends on the line it starts on"),
    )
}

/// The identifier-like word starting at byte `at`, or "" when none starts there.
fn word_at(source: &str, at: usize) -> &str {
    let rest = &source[at..];
    let end =
        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')).unwrap_or(rest.len());
    &rest[..end]
}

/// A keyword the parser would have accepted that `word` looks like a misspelling of.
fn did_you_mean(word: &str, positives: &[Rule]) -> Option<&'static str> {
    let keywords: Vec<&'static str> = phrases(positives)
        .into_iter()
        .filter_map(|(_, p)| {
            let inner = p.strip_prefix('`')?.strip_suffix('`')?;
            inner.bytes().all(|b| b.is_ascii_lowercase() || b == b'-').then_some(inner)
        })
        .collect();
    closest(word, &keywords)
}

/// The candidate within a small edit distance of `word` (and not `word` itself), if any.
fn closest<'k>(word: &str, candidates: &[&'k str]) -> Option<&'k str> {
    if word.len() < 2 {
        return None;
    }
    candidates
        .iter()
        .filter(|k| **k != word)
        .map(|k| (distance(word, k), *k))
        .filter(|&(d, k)| d <= 2 && d <= k.len() / 2)
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// The identifier-like word that ends just before the whitespace in front of byte `at`.
fn previous_word(source: &str, at: usize) -> &str {
    let before = source[..at].trim_end();
    // Past the character that ends the search, which may be wider than one byte (`é`, a BOM).
    let start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    &before[start..]
}

/// Levenshtein distance between two short ASCII-ish words.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_word_stops_at_a_wide_character() {
        assert_eq!(previous_word("caféx }", 7), "x", "the word after the é");
        assert_eq!(previous_word("x\u{FEFF}lots  ", 10), "lots");
        assert_eq!(previous_word("é", 2), "");
        assert_eq!(previous_word("acks ", 5), "acks");
    }

    #[test]
    fn every_rule_has_a_human_name() {
        for &rule in Rule::all_rules() {
            let (_, words) = describe(rule);
            assert!(!words.is_empty(), "{rule:?}");
            for w in words {
                assert!(!w.contains('_') || w.contains('`'), "{rule:?} reads {w}");
            }
        }
    }

    #[test]
    fn keywords_read_as_themselves() {
        for &rule in Rule::all_rules() {
            let name = format!("{rule:?}");
            if let Some(kw) = name.strip_prefix("kw_").filter(|_| rule != Rule::kw_end) {
                let (_, words) = describe(rule);
                let shown = words[0].trim_matches('`');
                assert!(shown.starts_with(kw), "{rule:?} reads {shown}");
                assert!(super::super::is_keyword(rule), "{rule:?}");
            } else {
                assert!(!super::super::is_keyword(rule), "{rule:?}");
            }
        }
    }

    #[test]
    fn joins_read_naturally() {
        assert_eq!(join(&[]), "");
        assert_eq!(join(&[(0, "a")]), "a");
        assert_eq!(join(&[(0, "a"), (1, "b")]), "a or b");
        assert_eq!(join(&[(0, "a"), (1, "b"), (1, "a"), (2, "c")]), "a, b or c");
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("sned", "send"), 2);
        assert_eq!(distance("crsh", "crash"), 1);
        assert_eq!(distance("", "abc"), 3);
    }
}
