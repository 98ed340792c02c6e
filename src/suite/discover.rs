//! Finding the scenarios `scn test` runs: files given by name, and every `.scn` under folders.

use std::path::{Path, PathBuf};

/// Every scenario under `paths`, folders walked in name order, each file once, in the order
/// the arguments give. Hidden folders, `target/` and `snapshots/` are not walked.
pub fn discover(paths: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    for p in paths {
        let path = Path::new(p);
        let meta = std::fs::metadata(path).map_err(|e| format!("{p}: {e}"))?;
        if meta.is_dir() {
            walk(path, &mut found).map_err(|e| format!("{p}: {e}"))?;
        } else {
            found.push(path.to_path_buf());
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    found.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if !(name.starts_with('.') || name == "target" || name == "snapshots") {
                walk(&path, found)?;
            }
        } else if name.ends_with(".scn") {
            found.push(path);
        }
    }
    Ok(())
}

/// A path as the runner prints it: `/` separators, no leading `./`.
pub fn display(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut t = text.as_str();
    while let Some(rest) = t.strip_prefix("./") {
        t = rest;
    }
    t.to_string()
}

/// Where a scenario's snapshot lives: `snapshots/NAME.snap` in the scenario's folder.
pub fn snapshot_path(scenario: &Path) -> PathBuf {
    let stem = scenario.file_stem().map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
    scenario.parent().unwrap_or(Path::new("")).join("snapshots").join(format!("{stem}.snap"))
}

/// The pending file beside a snapshot: `NAME.snap.new`.
pub fn pending_path(snapshot: &Path) -> PathBuf {
    let mut name = snapshot.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}
