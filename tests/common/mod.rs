//! What this repository's tests share: loading bundled scenarios through the library's facade
//! (`scn::Scenario`), with a readable panic when a file that must be valid is not.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A path relative to the crate root, `/`-separated, as diagnostics and messages show it.
pub fn display(path: &Path) -> String {
    let rel = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path);
    rel.to_string_lossy().replace('\\', "/")
}

/// The file's stem: the snapshot suffix of a file-driven test.
pub fn name(path: &Path) -> String {
    path.file_stem().expect("file name").to_string_lossy().into_owned()
}

/// A scenario file that must check; panics with its rendered diagnostics otherwise.
pub fn scenario(path: &Path) -> scn::Scenario {
    scn::Scenario::from_file(path).unwrap_or_else(|e| panic!("{} should be valid:\n{e}", display(path)))
}

/// Scenario text that must check; panics with its rendered diagnostics otherwise.
pub fn parse(source: &str) -> scn::Scenario {
    scn::Scenario::parse(source).unwrap_or_else(|e| panic!("does not check:\n{e}\n{source}"))
}

/// The `.scn` files of a folder under the crate root, sorted.
pub fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "scn"))
        .collect();
    files.sort();
    files
}

/// A run with every row kept, as JSON: what determinism checks compare.
pub fn json(scenario: &scn::Scenario) -> String {
    scenario.run(&scn::RunOptions { max_rows: 0, ..scn::RunOptions::default() }).render(scn::Format::Json, &[])
}
