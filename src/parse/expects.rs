//! Lowering of the `expect { ... }` block into [`crate::ast::Expect`]: counts, single message
//! outcomes, partition logs and what a consumer processed.

use super::{Lower, Rule, parts, span_of, unexpected};
use crate::ast::{CountKind, Expect, OutcomeKind, Spanned};
use pest::iterators::Pair;

impl Lower<'_> {
    /// `expect { ... }`: one expectation per line, in order.
    pub(super) fn expect_block(&mut self, pair: Pair<'_, Rule>) -> Vec<Spanned<Expect>> {
        parts(pair)
            .map(|stmt| {
                let span = span_of(&stmt);
                let expect = match stmt.as_rule() {
                    Rule::expect_count => self.expect_count(stmt),
                    Rule::expect_message => self.expect_message(stmt),
                    Rule::expect_log => self.expect_log(stmt),
                    Rule::expect_processed_list => self.expect_processed_list(stmt),
                    Rule::expect_processed_count => self.expect_processed_count(stmt),
                    _ => unexpected(&stmt, "expect_block"),
                };
                Spanned::new(expect, span)
            })
            .collect()
    }

    /// `lost 2`, `duplicates 0 for billing`, `delivered 5`
    fn expect_count(&mut self, pair: Pair<'_, Rule>) -> Expect {
        let mut inner = parts(pair);
        let kind = self.count_kind(&inner.next().expect("grammar: a count has a kind"));
        let value = self.int(inner.next().expect("grammar: a count has a number")).node;
        let scope = inner.next().map(|p| self.name(p));
        Expect::Count { kind, value, scope }
    }

    /// `lost`, `duplicates`, `delivered`, `lost to retention`
    fn count_kind(&mut self, pair: &Pair<'_, Rule>) -> CountKind {
        match pair.as_str().split_whitespace().collect::<Vec<_>>().join(" ").as_str() {
            "lost" => CountKind::Lost,
            "duplicates" => CountKind::Duplicates,
            "delivered" => CountKind::Delivered,
            "lost to retention" => CountKind::LostToRetention,
            other => unreachable!("grammar: count kind {other:?}"),
        }
    }

    /// `message message3 lost`
    fn expect_message(&mut self, pair: Pair<'_, Rule>) -> Expect {
        let mut inner = parts(pair);
        let message = self.message_ref(inner.next().expect("grammar: names a message"));
        let outcome = self.outcome_kind(&inner.next().expect("grammar: names an outcome"));
        Expect::Message { message, outcome }
    }

    /// `lost`, `delivered`, `duplicated`, `failed`
    fn outcome_kind(&mut self, pair: &Pair<'_, Rule>) -> OutcomeKind {
        match pair.as_str() {
            "lost" => OutcomeKind::Lost,
            "delivered" => OutcomeKind::Delivered,
            "duplicated" => OutcomeKind::Duplicated,
            "failed" => OutcomeKind::Failed,
            "aborted" => OutcomeKind::Aborted,
            other => unreachable!("grammar: outcome {other:?}"),
        }
    }

    /// `log orders-0 [message1, message2]`
    fn expect_log(&mut self, pair: Pair<'_, Rule>) -> Expect {
        let mut inner = parts(pair);
        let partition = self.partition_ref(inner.next().expect("grammar: log names a partition"));
        let values = self.message_list(inner.next().expect("grammar: log has a list"));
        Expect::Log { partition, values }
    }

    /// `billing processed [message1, message2]`
    fn expect_processed_list(&mut self, pair: Pair<'_, Rule>) -> Expect {
        let mut inner = parts(pair);
        let who = self.name(inner.next().expect("grammar: processed names a consumer"));
        let values = self.message_list(inner.next().expect("grammar: processed has a list"));
        Expect::ProcessedList { who, values }
    }

    /// `billing processed 3`
    fn expect_processed_count(&mut self, pair: Pair<'_, Rule>) -> Expect {
        let mut inner = parts(pair);
        let who = self.name(inner.next().expect("grammar: processed names a consumer"));
        let count = self.int(inner.next().expect("grammar: processed has a count")).node;
        Expect::ProcessedCount { who, count }
    }
}
