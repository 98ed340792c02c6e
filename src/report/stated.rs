//! Which broken guarantees the scenario's own `expect` lines state. A flow whose configured
//! guarantee does not hold fails the run (exit 1) unless an expectation pins what broke it: a
//! scenario that demonstrates a loss says so, one that loses by accident is caught.

use crate::ast::OutcomeKind;
use crate::model::{ExpectCheck, Model};
use crate::outcome::Flow;

/// One line per flow whose guarantee is violated with no `expect` line stating it.
pub fn unstated(model: &Model, flows: &[Flow]) -> Vec<String> {
    let states = |lost: bool| {
        model.expects.iter().any(|e| match &e.check {
            // An exact log or processing list pins every copy, so both kinds.
            ExpectCheck::Log { .. } | ExpectCheck::ProcessedList { .. } => true,
            ExpectCheck::Lost { value, .. } | ExpectCheck::LostToRetention { value, .. } => lost && *value > 0,
            ExpectCheck::Duplicates { value, .. } => !lost && *value > 0,
            ExpectCheck::ProcessedCount { .. } => !lost,
            ExpectCheck::Message { outcome, .. } => {
                *outcome == if lost { OutcomeKind::Lost } else { OutcomeKind::Duplicated }
            }
            ExpectCheck::Delivered { .. } => false,
        })
    };
    flows
        .iter()
        .filter(|f| !f.holds)
        .filter(|f| {
            // The verdict lists what broke the guarantee: `violated: 3 lost, 1 duplicated`.
            let broke = f.verdict.strip_prefix("violated: ").unwrap_or(&f.verdict);
            (broke.contains(" lost") && !states(true)) || (broke.contains(" duplicated") && !states(false))
        })
        .map(|f| format!("{}: {} {}", f.flow, f.guarantee, f.verdict))
        .collect()
}
