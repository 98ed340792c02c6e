//! scn: a deterministic simulator of what Kafka does to messages when things go wrong.
//!
//! A `.scn` scenario describes a cluster, producers, consumers, faults and expectations. The
//! pipeline has one module per stage: `parse` (pest grammar to a typed `ast`), `check`
//! (names, defaults, Kafka's config rules, into a `model::Model`), `sim` (the discrete-event
//! simulation), `outcome` (what happened to each message), `report` (tables, markdown,
//! JSON, YAML) and `explore` (every fault schedule up to K faults, forked from the
//! simulation's own state, and the smallest one that breaks the scenario). They are not part
//! of the library's API: only the facade below is.
//!
//! The library's front door is [`Scenario`]: parse a scenario (or read it with
//! [`Scenario::from_file`]), [`run`](Scenario::run) it, then [`render`](Outcome::render) the
//! report in any format or ask whether it [`passed`](Outcome::passed). A snapshot test of a
//! scenario, with [insta](https://insta.rs), is three calls:
//!
//! ```
//! let source = r#"
//! scenario "a lost ack without idempotence duplicates the record"
//! cluster { brokers 1  topic orders { partitions 1 } }
//! producer shop {
//!   guarantee at-least-once
//!   send 2 to orders value "order{i}" every 40s
//! }
//! faults { ack lost for shop send 1 }
//! expect { duplicates 1  log orders-0 [order1, order1, order2] }
//! "#;
//! let scenario = scn::Scenario::parse(source).expect("valid scenario");
//! let outcome = scenario.run(&scn::RunOptions::default());
//! assert!(outcome.passed());
//! insta::assert_snapshot!(outcome.render(scn::Format::Table, &[scn::Section::Expect]), @r"
//! scenario: a lost ack without idempotence duplicates the record
//! seed 0; ended at 40002 ms (nothing left to happen); 12 events, 16 steps
//!
//! Expectations
//! +-------------------------------+--------+--------------------------+--------------------------+
//! | expectation                   | result | expected                 | actual                   |
//! +-------------------------------+--------+--------------------------+--------------------------+
//! | duplicates 1                  | pass   | 1                        | 1                        |
//! | log orders-0 [order1, order1, | pass   | [order1, order1, order2] | [order1, order1, order2] |
//! | order2]                       |        |                          |                          |
//! +-------------------------------+--------+--------------------------+--------------------------+
//! all expectations hold
//! ");
//! assert_eq!(outcome.report().totals.duplicated, 1);
//! ```
//!
//! An invalid scenario gives every problem at once, each with its line and column:
//!
//! ```
//! let rejected = scn::Scenario::parse("scenario \"x\"\ncluster { brokers 0 }\n").unwrap_err();
//! assert_eq!(rejected.count(), 2);
//! assert!(rejected.render().contains("--> <scenario>:2:19"));
//! assert!(rejected.render().ends_with("error: <scenario> found 2 problems\n"));
//! ```
//!
//! `scn test` (the command line) does the same for every `.scn` file under a folder, without
//! writing any Rust: see [`suite`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

// The pipeline's stages. Hidden: not a stable API (this repository's tests, benches and fuzz
// targets reach into them); users go through the facade re-exported below.
#[doc(hidden)]
pub mod ast;
mod check;
#[doc(hidden)]
pub mod compare;
#[cfg(feature = "conform")]
#[doc(hidden)]
pub mod conform;
#[doc(hidden)]
pub mod diag;
#[doc(hidden)]
pub mod explore;
#[doc(hidden)]
pub mod history;
#[doc(hidden)]
pub mod memory;
#[doc(hidden)]
pub mod model;
#[doc(hidden)]
pub mod outcome;
#[doc(hidden)]
pub mod parse;
#[doc(hidden)]
pub mod report;
mod scenario;
#[doc(hidden)]
pub mod sim;
#[doc(hidden)]
pub mod spill;
pub mod suite;

pub use report::{ColorChoice, DEFAULT_WIDTH, Filter, Format, Layout, Report, SCHEMA_VERSION, Section, Totals, schema};
pub use scenario::{Comparison, Error, Outcome, Rejection, RunOptions, Scenario};

/// Parses and checks a scenario: the model the simulator runs, or every problem found.
#[doc(hidden)]
pub fn load(source: &str) -> Result<model::Model, diag::Diagnostics> {
    let file = parse::parse(source)?;
    check::check(&file)
}
