//! `scn test --review`: each new or changed snapshot shown as a diff, then accepted, rejected
//! or skipped, one answer a line, as `cargo insta review` does.

use super::{Case, Snapshot, Written};
use std::io::{BufRead, Write};

/// One answer at the review prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The new text becomes the snapshot.
    Accept,
    /// The snapshot stays; the pending file goes.
    Reject,
    /// Decide later: the pending file stays.
    Skip,
}

impl Answer {
    fn parse(line: &str) -> Option<Answer> {
        match line.trim().to_ascii_lowercase().as_str() {
            "a" | "accept" => Some(Answer::Accept),
            "r" | "reject" => Some(Answer::Reject),
            "s" | "skip" | "" => Some(Answer::Skip),
            _ => None,
        }
    }
}

/// Why a case fails, one reason per entry (the snapshot's verdict included).
pub fn reasons(case: &Case) -> Vec<String> {
    let mut out = case.problems.clone();
    match (case.snapshot_state(), &case.written) {
        (Snapshot::Same, _) => {}
        (state, w) => {
            let what = if state == Snapshot::New { "no snapshot yet" } else { "the snapshot differs" };
            let then = match w {
                Written::Pending(p) => format!(": the new text is in {}", super::display(p)),
                Written::NotUnderCi => ": CI=true, nothing written".to_string(),
                _ => String::new(),
            };
            out.push(format!("{what}{then}"));
        }
    }
    out
}

/// Walks every case whose snapshot is new or changed: prints its diff to `out`, reads an
/// answer a line from `input` (end of input skips the rest) and applies it. Returns the
/// answers given, in order.
pub fn review(cases: &mut [Case], input: &mut dyn BufRead, out: &mut dyn Write) -> std::io::Result<Vec<Answer>> {
    let mut answers = Vec::new();
    let todo: Vec<usize> = (0..cases.len()).filter(|&i| cases[i].snapshot_state() != Snapshot::Same).collect();
    let mut ended = false;
    for (n, &i) in todo.iter().enumerate() {
        let case = &mut cases[i];
        writeln!(out, "\nreview {}/{}: {}", n + 1, todo.len(), case.name)?;
        out.write_all(case.diff().as_bytes())?;
        let answer = loop {
            if ended {
                break Answer::Skip;
            }
            write!(out, "accept (a), reject (r) or skip (s)? ")?;
            out.flush()?;
            let mut line = String::new();
            if input.read_line(&mut line)? == 0 {
                ended = true;
                writeln!(out)?;
                break Answer::Skip;
            }
            match Answer::parse(&line) {
                Some(a) => break a,
                None => writeln!(out, "`{}`: answer a, r or s", line.trim())?,
            }
        };
        match answer {
            Answer::Accept => case.accept()?,
            Answer::Reject => case.reject()?,
            Answer::Skip => {}
        }
        writeln!(
            out,
            "{}",
            match answer {
                Answer::Accept => "accepted",
                Answer::Reject => "rejected: the snapshot stays",
                Answer::Skip => "skipped: the pending file stays",
            }
        )?;
        answers.push(answer);
    }
    Ok(answers)
}
