//! JUnit XML for CI systems: one `<testcase>` per scenario, a `<failure>` with the reasons and
//! the snapshot diff. No timings, so the file is the same for the same results.

use super::Case;
use crate::report::xml_escape as escape;

/// The JUnit XML report of a run of `scn test`.
pub fn junit(cases: &[Case]) -> String {
    let failures = cases.iter().filter(|c| !c.passed()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!("<testsuites name=\"scn test\" tests=\"{}\" failures=\"{failures}\">\n", cases.len()));
    out.push_str(&format!(
        "  <testsuite name=\"scn test\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
        cases.len()
    ));
    for case in cases {
        let name = escape(&case.name);
        if case.passed() {
            out.push_str(&format!("    <testcase name=\"{name}\" classname=\"scn\"/>\n"));
            continue;
        }
        let reasons = super::review::reasons(case);
        let message = escape(reasons.first().map_or("failed", String::as_str).lines().next().unwrap_or("failed"));
        let mut body = reasons.join("\n");
        let diff = case.diff();
        if !diff.is_empty() {
            body.push('\n');
            body.push_str(&diff);
        }
        out.push_str(&format!("    <testcase name=\"{name}\" classname=\"scn\">\n"));
        out.push_str(&format!("      <failure message=\"{message}\">{}</failure>\n", escape(&body)));
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_forbidden_characters() {
        assert_eq!(super::escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;?");
    }
}
