//! The HTML report in a real browser: headless Chromium opens a few bundled scenarios' pages
//! (with a message followed through `#msg=`, the process table filtered through `#actor=`) and
//! the DOM it dumps must hold the diagram, the tables, the highlight, the filter's result, and no
//! script error. Skipped, saying so, where no Chromium is
//! installed (`.ci/run` installs Debian's `chromium`).

use scn::report::{self, Format, Limits};
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// Chromium's DOM after the page's script ran, and what it logged.
fn dump(browser: &Path, page: &Path, anchor: &str, profile: &Path) -> (String, String) {
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}{anchor}", page.display()))
        .output()
        .expect("chromium starts");
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn html_reports_render_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED html_reports_render_in_headless_chromium: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("scn-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // (scenario, a message to follow, what its fate box says)
    let cases = [
        ("at-least-once-producer-duplicate", "message2", "duplicated x2"),
        ("acks-1-leader-crash", "payment1", "lost"),
        ("exactly-once-processor", "debit 300", "delivered once"),
    ];
    for (file, msg, fate) in cases {
        let path = format!("scenarios/run/{file}.scn");
        let source = std::fs::read_to_string(&path).expect("readable");
        let model = scn::load(&source).expect("valid");
        let run = scn::sim::run(
            &model,
            &scn::sim::Options { trace_limit: scn::model::limits::MAX_REPORT_ROWS, ..scn::sim::Options::default() },
        );
        let r = report::build(&model, &run, Limits::rows(0));
        let page = dir.join(format!("{file}.html"));
        std::fs::write(&page, report::picture(&r, Format::Html, 200, Some(&source))).expect("write page");
        let (dom, log) = dump(&browser, &page, &format!("#msg={}", msg.replace(' ', "%20")), &dir.join("profile"));
        let errors: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught")).collect();
        assert!(errors.is_empty(), "{file}: script errors:\n{}", errors.join("\n"));
        assert!(dom.contains("data-ready=\"yes\""), "{file}: the page's script did not finish:\n{log}");
        assert!(dom.contains("<svg") && dom.contains("class=\"scn-diagram\""), "{file}: no diagram");
        for id in ["messages", "flows", "anomalies", "steps"] {
            assert!(dom.contains(&format!("<table id=\"{id}\"")), "{file}: no {id} table");
        }
        let drawn = dom.matches("class=\"row ").count();
        assert!(drawn >= r.steps.len().min(200), "{file}: {drawn} rows drawn of {} steps", r.steps.len());
        // The followed message is highlighted in the diagram and the tables, and its fate shown.
        assert!(dom.contains("class=\"picking\""), "{file}: nothing followed");
        let lit = dom.matches(" hl\"").count() + dom.matches("class=\"hl\"").count();
        assert!(lit >= 3, "{file}: {msg} lit in {lit} places");
        let fate_box = dom.split("id=\"fate\"").nth(1).and_then(|s| s.split("</div>").next()).unwrap_or("");
        assert!(fate_box.contains(msg) && fate_box.contains(fate), "{file}: fate box says {fate_box}");
        // The process table filtered by actor: only broker 1's steps stay visible.
        let (dom, log) = dump(&browser, &page, "#actor=broker%201", &dir.join("profile"));
        assert!(dom.contains("data-ready=\"yes\""), "{file}: the page's script did not finish:\n{log}");
        let steps: Vec<&str> = dom.split("<tr data-step=").skip(1).map(|r| r.split('>').next().unwrap_or("")).collect();
        let shown: Vec<&&str> = steps.iter().filter(|r| !r.contains("hidden")).collect();
        let drawn_steps = report::diagram::keep(&r, 200).into_iter().flat_map(|w| &r.steps[w]);
        let broker1 = drawn_steps.filter(|s| s.actor == "broker 1").count();
        assert!(broker1 > 0 && shown.len() == broker1, "{file}: {} rows shown, broker 1 has {broker1}", shown.len());
        assert!(shown.iter().all(|r| r.contains("data-actor=\"broker 1\"")), "{file}: {shown:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
