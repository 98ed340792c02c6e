//! Several syntax errors at once: pest stops at the first, so after a failed parse each
//! top-level block is parsed again on its own (the file's other blocks blanked out, so every
//! position stays where it is in the file), and each block's first error is reported, up to
//! [`MAX_SYNTAX_ERRORS`].

use super::{Rule, ScenarioParser, errors};
use crate::diag::Diagnostic;
use pest::Parser as _;

/// The most syntax errors one file reports; the rest are left for the next run.
pub const MAX_SYNTAX_ERRORS: usize = 10;

/// The words a top-level block or line starts with.
const TOP_LEVEL: [&str; 10] =
    ["seed", "run", "network", "cluster", "producer", "consumer", "processor", "faults", "expect", "track"];

/// Where each top-level block starts: a line whose first word is a top-level keyword, outside
/// any block, or at the start of the line (a block left unclosed does not hide the next).
fn block_starts(source: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut depth = 0usize;
    let mut line_start = 0;
    for line in source.split_inclusive('\n') {
        let text = line.trim_start();
        let indent = line.len() - text.len();
        let word = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')).next();
        if word.is_some_and(|w| TOP_LEVEL.contains(&w)) && (depth == 0 || indent == 0) {
            starts.push(line_start + indent);
            depth = 0;
        }
        let mut in_string = false;
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' if in_string => {
                    chars.next();
                }
                '"' => in_string = !in_string,
                _ if in_string => {}
                '#' => break,
                '{' | '[' => depth += 1,
                '}' | ']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        line_start += line.len();
    }
    starts
}

/// Every block's first syntax error, in file order, `first` (the whole file's) among them;
/// only `first` when it lies before the first block (the `scenario` line cannot be skipped).
pub(super) fn syntax_errors(source: &str, first: Diagnostic) -> Vec<Diagnostic> {
    let starts = block_starts(source);
    let header_end = starts.first().copied().unwrap_or(source.len());
    if first.span.start < header_end {
        return vec![first];
    }
    let mut found = vec![first];
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(source.len());
        if found.iter().any(|d| (start..end).contains(&d.span.start)) {
            continue;
        }
        // The header and this block, everything else blank (newlines kept, and a blanked
        // character becomes one space per byte, so every byte position and line number is the
        // file's: a wide character blanked to one space would shift the rest).
        let mut alone = String::with_capacity(source.len());
        for (i, c) in source.char_indices() {
            if i < header_end || (start..end).contains(&i) || c == '\n' {
                alone.push(c);
            } else {
                alone.extend(std::iter::repeat_n(' ', c.len_utf8()));
            }
        }
        if let Err(err) = ScenarioParser::parse(Rule::file, &alone) {
            let mut d = errors::syntax_error(&err, source);
            // An error at the block's end is one the block caused (an unclosed `{`): it belongs
            // where the next block starts, where the whole file's parse may have found it.
            let rest = source.get(d.span.start.min(end)..end).unwrap_or_default();
            let blank = rest.lines().all(|l| l.trim_start().is_empty() || l.trim_start().starts_with('#'));
            if blank && end < source.len() {
                // The whole file's parse ran on into that block and stopped there: one error.
                let next_end = starts.get(k + 2).copied().unwrap_or(source.len());
                if found.iter().any(|f| (end..next_end).contains(&f.span.start)) {
                    continue;
                }
                d.span = crate::diag::Span::new(end, end);
            }
            if d.span.start >= start && !found.iter().any(|f| f.span.start == d.span.start) {
                found.push(d);
            }
        }
    }
    found.sort_by_key(|d| d.span.start);
    if found.len() > MAX_SYNTAX_ERRORS {
        found.truncate(MAX_SYNTAX_ERRORS);
        let last = found.pop().expect("errors");
        found.push(last.note(format!(
            "scn reports at most {MAX_SYNTAX_ERRORS} syntax errors a file; fix these and run it again for the rest"
        )));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::{MAX_SYNTAX_ERRORS, block_starts};
    use crate::diag::line_col;

    const TWO: &str = "scenario \"x\"\ncluster {\n  brokers 1\n  topic t { partitions 1 }\n}\nproducer p {\n  send 3 too t\n}\nconsumer c {\n  subscribe t group g\n  auto.offset.reset\n}\nexpect { lost 0 }\n";

    #[test]
    fn blocks_start_at_top_level_keywords_even_after_an_unclosed_brace() {
        let starts = block_starts(TWO);
        let lines: Vec<usize> = starts.iter().map(|&s| line_col(TWO, s).0).collect();
        assert_eq!(lines, vec![2, 6, 9, 13]);
        let unclosed = "scenario \"x\"\nproducer p {\n  send 1 to t\nconsumer c { \"}\" }\n";
        assert_eq!(block_starts(unclosed).len(), 2, "a `}}` in a string does not count");
    }

    #[test]
    fn each_broken_block_reports_its_error() {
        let d = crate::parse::parse(TWO).expect_err("two syntax errors");
        let at: Vec<(usize, usize)> = d.0.iter().map(|d| line_col(TWO, d.span.start)).collect();
        assert_eq!(at.len(), 2, "{d:?}");
        assert_eq!(at[0].0, 7, "`too`");
        assert_eq!(at[1].0, 12, "the setting without a value ends at the `}}`");
    }

    #[test]
    fn past_the_cap_the_last_error_says_so() {
        let broken: String = (0..15).map(|i| format!("producer p{i} {{ send x to t }}\n")).collect();
        let d = crate::parse::parse(&format!("scenario \"x\"\n{broken}")).expect_err("broken");
        assert_eq!(d.0.len(), MAX_SYNTAX_ERRORS);
        assert!(d.0.last().unwrap().notes.iter().any(|n| n.contains("at most 10")), "{:?}", d.0.last());
    }

    #[test]
    fn wide_characters_in_blanked_blocks_keep_every_position() {
        // (Found by tests/fuzz_smoke.rs: a blanked `é` became one space, so the next block's
        // error position fell inside a character of the real source.)
        let src = "scenario \"x\"\ncluster {\n  brokers 1 # é\n  topic t { partitions 1 }\n}\nproducer p {\n  send 3 too t\n}\nconsumer c { # ééé\n  subscribe t group g\n  auto.offset.reset\n}\n";
        let d = crate::parse::parse(src).expect_err("two syntax errors");
        let at: Vec<usize> = d.0.iter().map(|d| line_col(src, d.span.start).0).collect();
        assert_eq!(at, vec![7, 12], "{d:?}");
    }

    #[test]
    fn an_error_in_the_scenario_line_is_the_only_one() {
        let d = crate::parse::parse("scenario x\nproducer p { send x to t }\n").expect_err("broken");
        assert_eq!(d.0.len(), 1);
    }
}
