//! `scn test`: every scenario under some paths against its committed snapshot, run like a test
//! suite. A scenario's snapshot is `snapshots/NAME.snap` in its folder: the `scn run` table
//! report, or, for a file that declares `# scn-test: reject`, its rendered diagnostics.

mod directives;
mod discover;
mod junit;
mod review;

pub use directives::Directives;
pub use discover::{discover, display, pending_path, snapshot_path};
pub use junit::junit;
pub use review::{Answer, reasons, review};

use crate::scenario::{Error, RunOptions, Scenario};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The rows kept in a snapshot's long tables, whatever `scn run` defaults to.
pub const SNAPSHOT_MAX_ROWS: usize = 200;

/// One scenario's test: what it produced against what its snapshot holds.
#[derive(Debug, Clone)]
pub struct Case {
    /// The scenario file.
    pub path: PathBuf,
    /// The path as printed.
    pub name: String,
    /// Its committed snapshot.
    pub snapshot: PathBuf,
    /// The text the snapshot must equal; `None` when nothing could be produced (unreadable
    /// file, bad directive), and the snapshot is left alone.
    pub actual: Option<String>,
    /// The snapshot's text, if there is one.
    pub stored: Option<String>,
    /// What fails the test besides the snapshot: failed expectations, a rejection that was
    /// not declared, a declared rejection that did not happen.
    pub problems: Vec<String>,
    /// What was done with the new text.
    pub written: Written,
}

/// What the snapshot says about a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snapshot {
    /// Equal to what the scenario produced (or not compared).
    Same,
    /// There is no snapshot yet.
    New,
    /// The snapshot differs.
    Changed,
}

/// What `scn test` wrote for a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Nothing: the snapshot matched, or there was no text to write.
    Nothing,
    /// The new text went to this pending file.
    Pending(PathBuf),
    /// The new text is now the snapshot.
    Accepted,
    /// The pending file was deleted, the snapshot kept.
    Rejected,
    /// `CI=true`: the snapshot differs and nothing was written.
    NotUnderCi,
}

/// What to do with new or changed snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write pending `NAME.snap.new` files (and delete stale ones).
    Pending,
    /// Make the new text the snapshot.
    Accept,
    /// Write nothing (`CI=true`).
    ReadOnly,
}

impl Case {
    /// The snapshot's verdict, after any accept or reject.
    pub fn snapshot_state(&self) -> Snapshot {
        let Some(actual) = &self.actual else { return Snapshot::Same };
        if self.written == Written::Accepted {
            return Snapshot::Same;
        }
        match &self.stored {
            None => Snapshot::New,
            Some(s) if normalize(s) == *actual => Snapshot::Same,
            Some(_) => Snapshot::Changed,
        }
    }

    /// Whether the test passes: the snapshot matches and nothing else failed.
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.snapshot_state() == Snapshot::Same
    }

    /// The unified diff from the snapshot to what the scenario produced (empty when equal).
    pub fn diff(&self) -> String {
        let Some(actual) = &self.actual else { return String::new() };
        if self.snapshot_state() == Snapshot::Same {
            return String::new();
        }
        let old = self.stored.as_deref().map(normalize).unwrap_or_default();
        let shown = display(&self.snapshot);
        let (from, to) = match &self.stored {
            Some(_) => (shown.clone(), format!("{shown} (new)")),
            None => ("(no snapshot)".to_string(), format!("{shown} (new)")),
        };
        similar::TextDiff::from_lines(old.as_str(), actual.as_str())
            .unified_diff()
            .context_radius(3)
            .header(&from, &to)
            .missing_newline_hint(false)
            .to_string()
    }

    /// Makes the new text the snapshot and deletes the pending file.
    pub fn accept(&mut self) -> std::io::Result<()> {
        let Some(actual) = &self.actual else { return Ok(()) };
        if let Some(dir) = self.snapshot.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&self.snapshot, actual)?;
        remove_if_there(&pending_path(&self.snapshot))?;
        self.written = Written::Accepted;
        Ok(())
    }

    /// Keeps the snapshot as it is and deletes the pending file.
    pub fn reject(&mut self) -> std::io::Result<()> {
        remove_if_there(&pending_path(&self.snapshot))?;
        self.written = Written::Rejected;
        Ok(())
    }

    /// Writes the new text to the pending file.
    fn write_pending(&mut self) -> std::io::Result<()> {
        let Some(actual) = &self.actual else { return Ok(()) };
        let pending = pending_path(&self.snapshot);
        if let Some(dir) = pending.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&pending, actual)?;
        self.written = Written::Pending(pending);
        Ok(())
    }

    /// Applies `mode` to a new or changed snapshot; a matching one loses its stale pending file.
    pub fn settle(&mut self, mode: Mode) -> std::io::Result<()> {
        match (self.snapshot_state(), mode) {
            (Snapshot::Same, Mode::ReadOnly) => Ok(()),
            (Snapshot::Same, _) => remove_if_there(&pending_path(&self.snapshot)),
            (_, Mode::ReadOnly) => {
                self.written = Written::NotUnderCi;
                Ok(())
            }
            (_, Mode::Pending) => self.write_pending(),
            (_, Mode::Accept) => self.accept(),
        }
    }
}

fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Snapshots compare with `\n` line ends, so a checkout that turned them into CR LF still
/// matches.
fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// Runs every scenario (in parallel; the cases come back in the order given).
pub fn run(paths: &[PathBuf]) -> Vec<Case> {
    paths.par_iter().map(|p| run_one(p)).collect()
}

/// Runs one scenario and reads its snapshot.
pub fn run_one(path: &Path) -> Case {
    let snapshot = snapshot_path(path);
    let stored = std::fs::read_to_string(&snapshot).ok();
    let mut case = Case {
        path: path.to_path_buf(),
        name: display(path),
        snapshot,
        actual: None,
        stored,
        problems: Vec::new(),
        written: Written::Nothing,
    };
    let bytes = match crate::diag::read_bytes(&path.to_string_lossy()) {
        Ok(b) => b,
        Err(e) => {
            case.problems.push(e.trim_start_matches("error: ").trim_end().to_string());
            return case;
        }
    };
    let directives = match Directives::scan(&String::from_utf8_lossy(&bytes)) {
        Ok(d) => d,
        Err(e) => {
            case.problems.push(e);
            return case;
        }
    };
    // Diagnostics name the file alone, so a snapshot does not depend on where `scn test` ran.
    let file_name = path.file_name().map_or_else(|| case.name.clone(), |n| n.to_string_lossy().into_owned());
    match Scenario::from_bytes(&file_name, bytes) {
        Ok(scenario) => {
            let outcome = scenario.run(&RunOptions { max_rows: SNAPSHOT_MAX_ROWS, ..RunOptions::default() });
            if directives.reject {
                case.problems.push("declares `# scn-test: reject`, but the scenario is valid".into());
            }
            for e in outcome.report().expectations.iter().filter(|e| !e.passed) {
                case.problems
                    .push(format!("expectation failed: `{}` expected {}, got {}", e.expectation, e.expected, e.actual));
            }
            for v in &outcome.report().unstated_violations {
                case.problems.push(format!("a guarantee broke and no expect line states it: {v}"));
            }
            case.actual = Some(outcome.render(crate::Format::Table, &directives.sections));
        }
        Err(Error::Rejected(r)) => {
            let text = r.render();
            if !directives.reject {
                case.problems.push(format!(
                    "the scenario is invalid (add `# scn-test: reject` if it must be):\n{}",
                    text.trim_end()
                ));
            }
            case.actual = Some(text);
        }
        Err(Error::Unreadable(e)) => case.problems.push(e.trim_start_matches("error: ").trim_end().to_string()),
    }
    case
}
