//! The README's examples are what the commands print today: every line that starts with a
//! backquoted `scn ...` command followed by an output block is run, and the block must be its
//! output (or, when the text says the output "begins", its start).

use std::process::Command;

/// `(line, command, block, whole)` for each command-and-output pair of `text`.
fn examples(text: &str) -> Vec<(usize, String, String, bool)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(command) = line.strip_prefix('`').and_then(|l| l.split_once('`')).map(|(c, _)| c) else {
            continue;
        };
        if !command.starts_with("scn ") {
            continue;
        }
        let Some(open) = (i..(i + 5).min(lines.len())).find(|&j| lines[j] == "```") else { continue };
        let close = (open + 1..lines.len()).find(|&j| lines[j] == "```").expect("a closed block");
        let intro = lines[i..open].join(" ");
        let block: String = lines[open + 1..close].iter().map(|l| format!("{l}\n")).collect();
        out.push((i + 1, command.to_string(), block, !intro.contains("begins")));
    }
    out
}

#[test]
fn the_readme_shows_what_its_commands_print() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let found = examples(&readme);
    assert!(found.len() >= 4, "the README's examples were not found: {found:?}");
    let mut stale = Vec::new();
    for (line, command, block, whole) in found {
        let args: Vec<&str> = command.split_whitespace().skip(1).collect();
        let out = Command::new(env!("CARGO_BIN_EXE_scn"))
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("COLUMNS")
            .output()
            .expect("scn runs");
        let stdout = String::from_utf8(out.stdout).expect("utf-8");
        let same = if whole { stdout == block } else { stdout.starts_with(&block) };
        if !same {
            stale.push(format!("README.md:{line}: `{command}` now prints:\n{stdout}"));
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}
