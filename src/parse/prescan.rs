//! Checks made on the raw text before pest sees it: line endings, and the nesting depth of
//! processor expressions (pest descends recursively, so deep nesting would overflow its stack).

use crate::diag::{Diagnostic, Span};
use crate::model::limits;

/// The problems that stop parsing before it starts: a bare carriage return (CR-only line
/// endings make a `#` comment swallow the rest of the file) and parentheses nested past
/// [`limits::MAX_EXPR_DEPTH`]. Strings and comments are skipped.
pub(super) fn prescan(source: &str) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let bytes = source.as_bytes();
    let (mut in_string, mut in_comment) = (false, false);
    let (mut cr_reported, mut depth_reported) = (false, false);
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // CR LF is a line ending; a CR on its own is not (the grammar reads lines by LF).
        if b == b'\r' && bytes.get(i + 1) != Some(&b'\n') && !cr_reported {
            cr_reported = true;
            diags.push(
                Diagnostic::new("a carriage return without a line feed", Span::new(i, i + 1))
                    .label("expected a line feed (LF or CR LF) to end the line")
                    .note("CR-only line endings are not supported: save the file with LF or CR LF line endings"),
            );
        }
        match b {
            b'\n' => {
                in_string = false;
                in_comment = false;
            }
            _ if in_comment => {}
            // An escape skips the next byte, never a line end (a string does not cross lines).
            b'\\' if in_string && bytes.get(i + 1) != Some(&b'\n') => i += 1,
            b'"' => in_string = !in_string,
            _ if in_string => {}
            b'#' => in_comment = true,
            b'(' => {
                depth += 1;
                if depth > limits::MAX_EXPR_DEPTH && !depth_reported {
                    depth_reported = true;
                    diags.push(Diagnostic::new("expression nested too deeply", Span::new(i, i + 1)).label(format!(
                        "expected at most {} levels of parentheses and function calls",
                        limits::MAX_EXPR_DEPTH
                    )));
                }
            }
            b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::prescan;

    #[test]
    fn crlf_passes_a_bare_cr_does_not() {
        assert!(prescan("scenario \"x\"\r\n# c\r\n").is_empty());
        let d = prescan("scenario \"x\"\r# c\r");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].span.start, 12, "the first bare CR");
    }

    #[test]
    fn depth_counts_parentheses_outside_strings_and_comments() {
        let deep = "(".repeat(33);
        assert_eq!(prescan(&deep).len(), 1);
        assert_eq!(prescan(&deep)[0].span.start, 32, "the 33rd `(`");
        assert!(prescan(&"(".repeat(32)).is_empty());
        assert!(prescan(&format!("\"{deep}\"")).is_empty(), "inside a string");
        assert!(prescan(&format!("# {deep}\n")).is_empty(), "inside a comment");
        assert!(prescan(&"(x) ".repeat(100)).is_empty(), "closed parentheses do not add up");
        assert_eq!(prescan(&format!("\"a\\\n{deep}")).len(), 1, "a backslash does not carry a string over a line");
    }
}
