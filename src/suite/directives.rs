//! `# scn-test: ...` comment lines: what a scenario file asks of `scn test`.

use crate::report::Section;
use clap::ValueEnum;

/// The directives of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    /// `# scn-test: reject`: the file must be rejected; its snapshot is the diagnostics.
    pub reject: bool,
    /// `# scn-test: sections flows,expect`: only these report sections in the snapshot.
    pub sections: Vec<Section>,
}

/// The prefix of a directive line.
pub const PREFIX: &str = "# scn-test:";

impl Directives {
    /// Reads every directive line; an unknown one is an error, so a typo cannot go unnoticed.
    pub fn scan(text: &str) -> Result<Directives, String> {
        let mut d = Directives::default();
        for (i, line) in text.lines().enumerate() {
            let Some(rest) = line.trim().strip_prefix(PREFIX) else { continue };
            let rest = rest.trim();
            let (word, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let at = i + 1;
            match (word, arg.trim()) {
                ("reject", "") => d.reject = true,
                ("sections", list) if !list.is_empty() => {
                    for s in list.split(',') {
                        let s = s.trim();
                        let section = Section::from_str(s, true).map_err(|_| {
                            let known: Vec<String> = Section::ALL
                                .iter()
                                .filter_map(|s| s.to_possible_value().map(|v| v.get_name().to_string()))
                                .collect();
                            format!("line {at}: `{PREFIX} sections`: no section `{s}` (sections: {})", known.join(", "))
                        })?;
                        if !d.sections.contains(&section) {
                            d.sections.push(section);
                        }
                    }
                    d.sections.sort();
                }
                _ => {
                    return Err(format!(
                        "line {at}: unknown directive `{}` (known: `{PREFIX} reject`, `{PREFIX} sections LIST`)",
                        line.trim()
                    ));
                }
            }
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_reject_and_sections() {
        let d = Directives::scan("# scn-test: reject\n  # scn-test: sections expect, flows\nscenario \"x\"\n")
            .expect("valid directives");
        assert!(d.reject);
        assert_eq!(d.sections, vec![Section::Flows, Section::Expect]);
        assert_eq!(Directives::scan("# plain comment\n").expect("none"), Directives::default());
    }

    #[test]
    fn refuses_unknown_directives_and_sections() {
        let e = Directives::scan("\n# scn-test: rejected\n").expect_err("typo");
        assert!(e.starts_with("line 2: unknown directive `# scn-test: rejected`"), "{e}");
        let e = Directives::scan("# scn-test: sections flow\n").expect_err("bad section");
        assert!(e.contains("no section `flow`"), "{e}");
    }
}
