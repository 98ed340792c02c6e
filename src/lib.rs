//! scn: a deterministic simulator of what Kafka does to messages when things go wrong.
//!
//! A `.scn` scenario describes a cluster, producers, consumers, faults and expectations. The
//! pipeline has one module per stage: [`parse`] (pest grammar to a typed [`ast`]), [`check`]
//! (names, defaults, Kafka's config rules, into a [`model::Model`]), [`sim`] (the discrete-event
//! simulation), [`outcome`] (what happened to each message), [`report`] (tables, markdown,
//! JSON, YAML) and [`explore`] (every fault schedule up to K faults, forked from the
//! simulation's own state, and the smallest one that breaks the scenario).
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
//! let model = scn::load(source).expect("valid scenario");
//! let run = scn::sim::run(&model, &scn::sim::Options::default());
//! let report = scn::report::build(&model, &run, scn::report::Limits { max_rows: 100 });
//! assert!(report.passed);
//! assert_eq!(report.totals.duplicated, 1);
//! ```

#![forbid(unsafe_code)]

pub mod ast;
pub mod check;
pub mod compare;
pub mod diag;
pub mod explore;
pub mod model;
pub mod outcome;
pub mod parse;
pub mod report;
mod scenario;
pub mod sim;
pub mod suite;

pub use report::{Format, Section};
pub use scenario::{Error, Outcome, Rejection, RunOptions, Scenario};

/// Parses and checks a scenario: the model the simulator runs, or every problem found.
pub fn load(source: &str) -> Result<model::Model, diag::Diagnostics> {
    let file = parse::parse(source)?;
    check::check(&file)
}
