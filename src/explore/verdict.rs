//! What counts as broken: failed expectations, flows whose configured guarantee does not
//! hold, anomalies the configuration does not allow, or the anomalies `--check` names.

use crate::report::Report;

/// One thing `--check` can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// Any `expect` line failing.
    Expect,
    /// A flow whose configured guarantee does not hold (the Flows table's verdict).
    Guarantee,
    /// Any anomaly the configuration does not allow.
    Anomaly,
    /// Any lost message (allowed by the guarantee or not).
    Lost,
    /// Any duplicate (committed twice, or processed twice by one group).
    Duplicate,
    /// Any committed record a reading group never polled.
    Unseen,
    /// Any record of an aborted or never-committed transaction that a group processed (G1a).
    AbortedRead,
    /// Any poll that went backwards.
    Nonmonotonic,
    /// Any offset that held different records at different polls.
    Inconsistent,
    /// Any message whose send failed.
    Failed,
}

impl Check {
    pub const ALL: [Check; 10] = [
        Check::Expect,
        Check::Guarantee,
        Check::Anomaly,
        Check::Lost,
        Check::Duplicate,
        Check::Unseen,
        Check::AbortedRead,
        Check::Nonmonotonic,
        Check::Inconsistent,
        Check::Failed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Check::Expect => "expect",
            Check::Guarantee => "guarantee",
            Check::Anomaly => "anomaly",
            Check::Lost => "lost",
            Check::Duplicate => "duplicate",
            Check::Unseen => "unseen",
            Check::AbortedRead => "aborted-read",
            Check::Nonmonotonic => "nonmonotonic",
            Check::Inconsistent => "inconsistent",
            Check::Failed => "failed",
        }
    }

    pub fn parse(word: &str) -> Result<Check, String> {
        Check::ALL.iter().copied().find(|c| c.name() == word).ok_or_else(|| {
            let names: Vec<&str> = Check::ALL.iter().map(|c| c.name()).collect();
            format!("unknown check `{word}`: expected one of {}", names.join(", "))
        })
    }

    /// The anomaly row a check reads, as the report names it.
    fn anomaly(self) -> Option<&'static str> {
        Some(match self {
            Check::Duplicate => "duplicate",
            Check::Unseen => "unseen",
            Check::AbortedRead => "aborted read (G1a)",
            Check::Nonmonotonic => "nonmonotonic poll",
            Check::Inconsistent => "inconsistent offsets",
            _ => return None,
        })
    }

    /// Without `--check`: the expectations where the file states any, else the guarantees
    /// and the anomalies they do not allow.
    pub fn defaults(has_expects: bool) -> Vec<Check> {
        if has_expects { vec![Check::Expect] } else { vec![Check::Guarantee, Check::Anomaly] }
    }
}

/// One thing that broke.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Broken {
    /// What failed, without counts (`expect lost 0`, `guarantee api -> payments`): schedules
    /// that break the same things form one group under `--all`.
    pub what: String,
    /// What failed, with what the run showed.
    pub detail: String,
}

/// What a run broke, by the checks asked for (empty: it passed).
pub fn judge(report: &Report, checks: &[Check]) -> Vec<Broken> {
    let mut out = Vec::new();
    for &c in checks {
        match c {
            Check::Expect => {
                for e in report.expectations.iter().filter(|e| !e.passed) {
                    out.push(Broken {
                        what: format!("expect `{}`", e.expectation),
                        detail: format!("expect `{}`: expected {}, got {}", e.expectation, e.expected, e.actual),
                    });
                }
                // As `scn run` judges: a broken guarantee that no expect line states fails too
                // (the guarantee check, when asked for, names every broken one itself).
                let unstated =
                    if checks.contains(&Check::Guarantee) { &[][..] } else { &report.unstated_violations[..] };
                for v in unstated {
                    out.push(Broken {
                        what: format!("unstated: {v}"),
                        detail: format!("{v} (no expect line states it)"),
                    });
                }
            }
            Check::Guarantee => {
                for f in report.flows.iter().filter(|f| !f.holds) {
                    out.push(Broken {
                        what: format!("guarantee of {}", f.flow),
                        detail: format!("{} ({}): {}", f.flow, f.guarantee, f.verdict),
                    });
                }
            }
            Check::Anomaly => {
                for a in report.anomalies.iter().filter(|a| a.count > 0 && !a.expected) {
                    out.push(Broken { what: a.anomaly.clone(), detail: anomaly_detail(a) });
                }
            }
            Check::Lost => {
                let lost_write = report.anomalies.iter().find(|a| a.anomaly == "lost write" && a.count > 0);
                if report.totals.lost > 0 || lost_write.is_some() {
                    let mut detail = format!("{} of {} messages lost", report.totals.lost, report.totals.messages);
                    if let Some(a) = lost_write {
                        detail.push_str(&format!("; {}", anomaly_detail(a)));
                    }
                    out.push(Broken { what: "lost".into(), detail });
                }
            }
            Check::Failed => {
                if report.totals.failed > 0 {
                    out.push(Broken {
                        what: "failed".into(),
                        detail: format!("{} of {} sends failed", report.totals.failed, report.totals.messages),
                    });
                }
            }
            c => {
                let name = c.anomaly().expect("an anomaly check");
                if let Some(a) = report.anomalies.iter().find(|a| a.anomaly == name && a.count > 0) {
                    out.push(Broken { what: a.anomaly.clone(), detail: anomaly_detail(a) });
                }
            }
        }
    }
    out.sort_by(|a, b| a.what.cmp(&b.what));
    out.dedup_by(|a, b| a.what == b.what);
    out
}

fn anomaly_detail(a: &crate::outcome::Anomaly) -> String {
    format!("{}: {} ({})", a.anomaly, a.count, a.examples.join(", "))
}

/// The group key of what broke: the sorted list of what failed.
pub fn group(broken: &[Broken]) -> String {
    broken.iter().map(|b| b.what.as_str()).collect::<Vec<_>>().join("; ")
}
