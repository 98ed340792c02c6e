//! Diagnostics: one error type for every stage, rendered with file:line:column, the source line
//! and a caret under the culprit (annotate-snippets, never coloured).

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use std::fmt;

/// A byte range in the scenario source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
}

/// A problem with a scenario: what is wrong, where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub span: Span,
    /// The label under the caret: usually what was expected.
    pub label: String,
    /// Extra lines after the snippet (`note: ...`, `help: ...` written in full).
    pub notes: Vec<String>,
    /// Related places, marked in the snippet with their own label.
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>, span: Span) -> Self {
        Diagnostic { message: message.into(), span, label: String::new(), notes: Vec::new(), related: Vec::new() }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Marks a related place (the first declaration, the setting this one conflicts with).
    pub fn related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }
}

/// All the diagnostics of one stage, in source order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Renders every diagnostic against `source`, which was read from `path`.
    pub fn render(&self, path: &str, source: &str) -> String {
        let lines = Lines::new(source);
        let mut out = String::new();
        for d in &self.0 {
            out.push_str(&render_one(d, path, &lines));
            out.push_str("\n\n");
        }
        let n = self.0.len();
        out.push_str(&format!("error: {} found {n} problem{}\n", path, if n == 1 { "" } else { "s" }));
        out
    }
}

/// Where each line of a source starts, found once: a diagnostic renders only the lines it marks,
/// so 20,000 diagnostics on a 20,000-line file render in linear time, not one source scan each.
struct Lines<'a> {
    source: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(source: &'a str) -> Self {
        let starts = std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Lines { source, starts }
    }

    /// 0-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset) - 1
    }

    /// A snippet of the whole lines `first..=last`, numbered as in the file, and the byte offset
    /// its text starts at (spans are given relative to it).
    fn snippet(
        &self,
        path: &'a str,
        first: usize,
        last: usize,
    ) -> (Snippet<'a, annotate_snippets::Annotation<'a>>, usize) {
        let from = self.starts[first];
        let to = self.starts.get(last + 1).copied().unwrap_or(self.source.len());
        (Snippet::source(&self.source[from..to]).path(path).line_start(first + 1), from)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{} (at byte {})", d.message, d.span.start)?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Marks further apart than this many lines get a snippet each instead of one snippet spanning
/// everything between them.
const ONE_SNIPPET_LINES: usize = 64;

fn render_one(d: &Diagnostic, path: &str, lines: &Lines) -> String {
    // A span at or past the end (an error at end of input) points at the last character, the
    // final newline when there is one: a real line and column, not one past the last line.
    let source = lines.source;
    let len = source.len();
    let mut start = d.span.start.min(len);
    if start == len && len > 0 {
        start = prev_boundary(source, len);
    }
    let mut end = d.span.end.min(len).max(start);
    if start == end && end < len {
        end = next_boundary(source, start);
    }
    let related: Vec<(usize, usize, &str)> = d
        .related
        .iter()
        .map(|(span, label)| {
            let a = span.start.min(len);
            (a, span.end.min(len).max(a), label.as_str())
        })
        .collect();
    let line_range = |a: usize, b: usize| (lines.line_of(a), lines.line_of(b.saturating_sub(1).max(a)));
    let (mut first, mut last) = line_range(start, end);
    let near = related.iter().all(|&(a, b, _)| {
        let (f, l) = line_range(a, b);
        l.max(last) - f.min(first) <= ONE_SNIPPET_LINES
    });
    if near {
        for &(a, b, _) in &related {
            let (f, l) = line_range(a, b);
            first = first.min(f);
            last = last.max(l);
        }
    }
    let (mut snippet, base) = lines.snippet(path, first, last);
    snippet = snippet.annotation(AnnotationKind::Primary.span(start - base..end - base).label(d.label.as_str()));
    let mut far = Vec::new();
    for &(a, b, label) in &related {
        if near {
            snippet = snippet.annotation(AnnotationKind::Context.span(a - base..b - base).label(label));
        } else {
            let (f, l) = line_range(a, b);
            let (other, base) = lines.snippet(path, f, l);
            far.push(other.annotation(AnnotationKind::Context.span(a - base..b - base).label(label)));
        }
    }
    let mut group = Level::ERROR.primary_title(d.message.as_str()).element(snippet);
    for other in far {
        group = group.element(other);
    }
    let mut report = vec![group];
    for note in &d.notes {
        report.push(Group::with_title(Level::NOTE.secondary_title(note.as_str())));
    }
    let text = Renderer::plain().render(&report);
    text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

fn prev_boundary(s: &str, i: usize) -> usize {
    let mut j = i.saturating_sub(1);
    while j > 0 && !s.is_char_boundary(j) {
        j -= 1;
    }
    j
}

fn next_boundary(s: &str, i: usize) -> usize {
    let mut j = i + 1;
    while j < s.len() && !s.is_char_boundary(j) {
        j += 1;
    }
    j
}

/// A scenario file's bytes as text. Bytes that are not UTF-8 are a diagnostic at the first bad
/// byte, returned with the text to render it against (the bad bytes shown as U+FFFD).
pub fn decode(bytes: Vec<u8>) -> Result<String, (Diagnostics, String)> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let bad = e.utf8_error().error_len().unwrap_or(bytes.len() - at);
            let found: Vec<String> = bytes[at..at + bad].iter().map(|b| format!("0x{b:02X}")).collect();
            let shown = String::from_utf8_lossy(bytes).into_owned();
            // Up to the bad byte the two texts agree, so `at` is the same offset in both.
            let d = Diagnostic::new("the file is not valid UTF-8 text", Span::new(at, at + '\u{FFFD}'.len_utf8()))
                .label(format!(
                    "expected a UTF-8 character, found the byte{} {}",
                    if bad == 1 { "" } else { "s" },
                    found.join(" ")
                ))
                .note("save the scenario as UTF-8");
            Err((Diagnostics(vec![d]), shown))
        }
    }
}

/// Reads a scenario file; the error is the rendered message (unreadable file, or not UTF-8).
pub fn read_file(path: &str) -> Result<String, String> {
    let bytes = read_bytes(path)?;
    decode(bytes).map_err(|(diags, shown)| diags.render(path, &shown))
}

/// Reads a scenario file's bytes, refusing one past the size limit without reading it all; the
/// error is the rendered message. `-` reads standard input.
pub fn read_bytes(path: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let max = crate::model::limits::MAX_FILE_BYTES;
    let mut bytes = Vec::new();
    let fail = |e: std::io::Error| format!("error: cannot read {path}: {e}\n");
    // Read one byte past the limit, so a larger file (or an endless stream) is refused
    // without reading it all.
    if path == "-" {
        std::io::stdin().lock().take(max + 1).read_to_end(&mut bytes).map_err(fail)?;
    } else {
        let file = std::fs::File::open(path).map_err(fail)?;
        file.take(max + 1).read_to_end(&mut bytes).map_err(fail)?;
    }
    if bytes.len() as u64 > max {
        return Err(format!("error: {path}: a scenario file holds at most {} MiB\n", max >> 20));
    }
    Ok(bytes)
}

/// 1-based line and column of a byte offset (for messages that quote a position).
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str, d: Diagnostic) -> String {
        Diagnostics(vec![d]).render("f.scn", source)
    }

    #[test]
    fn a_mark_deep_in_the_file_keeps_its_line_number() {
        let source: String = (1..=3000).map(|i| format!("line {i}\n")).collect();
        let at = source.find("line 2500").unwrap();
        let text = render(&source, Diagnostic::new("bad", Span::new(at, at + 4)).label("here"));
        assert!(text.contains("--> f.scn:2500:1"), "{text}");
        assert!(text.contains("2500 | line 2500"), "{text}");
        assert!(!text.contains("line 2499") && !text.contains("line 2501"), "{text}");
    }

    #[test]
    fn near_marks_share_one_snippet_and_far_ones_get_their_own() {
        let source: String = (1..=200).map(|i| format!("line {i}\n")).collect();
        let span = |l: &str| {
            let at = source.find(&format!("{l}\n")).unwrap();
            Span::new(at, at + l.len())
        };
        let near = render(&source, Diagnostic::new("x", span("line 20")).label("a").related(span("line 10"), "b"));
        assert!(!near.contains(":::"), "{near}");
        assert!(near.contains("10 | line 10") && near.contains("20 | line 20"), "{near}");
        let far = render(&source, Diagnostic::new("x", span("line 150")).label("a").related(span("line 3"), "b"));
        assert!(far.contains("--> f.scn:150:1") && far.contains("::: f.scn:3:1"), "{far}");
        assert!(!far.contains("line 75"), "{far}");
    }

    #[test]
    fn an_error_at_the_end_of_input_points_at_the_last_line() {
        let source = "a\nb\n";
        let text = render(source, Diagnostic::new("eof", Span::new(4, 4)).label("expected more"));
        assert!(text.contains("f.scn:2:2"), "{text}");
    }
}
