//! Lowering of the grammar's tokens: names, numbers, durations, strings, partition and message
//! references. Numbers out of range become diagnostics here, never panics.

use super::{Lower, Rule, only, parts, span_of, unexpected};
use crate::ast::{MessageRef, PartitionRef, Spanned};
use crate::diag::{Diagnostic, Span};
use crate::model::limits;
use pest::iterators::Pair;

impl Lower<'_> {
    /// A name: topic, client, group or bare message value.
    pub(super) fn name(&mut self, pair: Pair<'_, Rule>) -> Spanned<String> {
        let span = span_of(&pair);
        self.cap_name(span, "name");
        Spanned::new(pair.as_str().to_string(), span)
    }

    /// A name past [`limits::MAX_NAME_BYTES`] is a diagnostic pointing where it runs over
    /// (names are ASCII, so that is a character boundary; a shorter span keeps the label on
    /// screen).
    pub(super) fn cap_name(&mut self, span: Span, what: &str) {
        let len = span.end - span.start;
        if len > limits::MAX_NAME_BYTES {
            self.diags.push(
                Diagnostic::new(format!("{what} too long"), Span::new(span.start + limits::MAX_NAME_BYTES, span.end))
                    .label(format!("expected at most {} bytes, found {len}", limits::MAX_NAME_BYTES)),
            );
        }
    }

    /// `all`, `earliest`
    pub(super) fn word(&mut self, pair: Pair<'_, Rule>) -> String {
        self.cap_length(span_of(&pair), pair.as_str().len(), "word", limits::MAX_STRING_BYTES);
        pair.as_str().to_string()
    }

    /// A name or string longer than its limit is a diagnostic (kept whole in the tree).
    pub(super) fn cap_length(&mut self, span: Span, len: usize, what: &str, max: usize) {
        if len > max {
            self.diags.push(
                Diagnostic::new(format!("{what} too long"), span)
                    .label(format!("expected at most {max} bytes, found {len}")),
            );
        }
    }

    /// `true` / `false`
    pub(super) fn boolean(&mut self, pair: Pair<'_, Rule>) -> bool {
        pair.as_str() == "true"
    }

    /// A non-negative whole number; past `u64::MAX` it is a diagnostic (and 0 in the tree).
    pub(super) fn int(&mut self, pair: Pair<'_, Rule>) -> Spanned<u64> {
        let span = span_of(&pair);
        let value = pair.as_str().parse::<u64>().unwrap_or_else(|_| {
            self.too_large(span, "number", u64::MAX);
            0
        });
        Spanned::new(value, span)
    }

    /// An `int` or `negative` config value. Past the `i64` range it saturates: no setting
    /// accepts such a value, so check reports the setting's own range (`retries -1` and
    /// `retries 18446744073709551615` both say "a number from 0 to 2147483647").
    pub(super) fn signed(&mut self, pair: Pair<'_, Rule>) -> i64 {
        let text = pair.as_str();
        text.parse::<i64>().unwrap_or(if text.starts_with('-') { i64::MIN } else { i64::MAX })
    }

    /// `250ms`, `2s`, `1.5s`, `2m30s`, `1h`, in milliseconds: each part a whole or decimal
    /// number and a unit, summed; a part that is not a whole number of milliseconds is a
    /// diagnostic, as is a sum past `u64::MAX`.
    pub(super) fn duration(&mut self, pair: Pair<'_, Rule>) -> Spanned<u64> {
        let span = span_of(&pair);
        let mut rest = pair.as_str();
        let mut total: Option<u64> = Some(0);
        while !rest.is_empty() {
            let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
            let unit_end = rest[number_end..].find(|c: char| c.is_ascii_digit()).map_or(rest.len(), |u| number_end + u);
            let (number, unit) = (&rest[..number_end], &rest[number_end..unit_end]);
            rest = &rest[unit_end..];
            let factor: u64 = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                other => unreachable!("grammar: duration unit {other:?}"),
            };
            let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
            // The fraction in units of 10^-digits: `1.5s` is 1 s + 5 * 1000 / 10 ms.
            let scale = 10u64.checked_pow(fraction.len() as u32);
            let part_ms = fraction.parse::<u64>().ok().or(Some(0).filter(|_| fraction.is_empty())).zip(scale);
            let part = match part_ms {
                Some((f, scale)) if (f as u128 * factor as u128) % scale as u128 == 0 => {
                    Some((f as u128 * factor as u128 / scale as u128) as u64)
                }
                _ => {
                    self.diags.push(
                        Diagnostic::new("duration is not a whole number of milliseconds", span)
                            .label(format!("`{number}{unit}` has a fraction of a millisecond")),
                    );
                    return Spanned::new(0, span);
                }
            };
            let ms = whole
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(factor))
                .zip(part)
                .and_then(|(a, b)| a.checked_add(b));
            total = total.zip(ms).and_then(|(t, m)| t.checked_add(m));
        }
        let millis = total.unwrap_or_else(|| {
            self.too_large(span, "duration", format_args!("{}ms", u64::MAX));
            0
        });
        Spanned::new(millis, span)
    }

    /// `"text"` with `\"`, `\\`, `\n` and `\t` unescaped; the span includes the quotes.
    pub(super) fn string(&mut self, pair: Pair<'_, Rule>) -> Spanned<String> {
        let span = span_of(&pair);
        let raw = only(pair).as_str();
        let mut text = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                text.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => text.push('\n'),
                Some('t') => text.push('\t'),
                Some(other @ ('"' | '\\')) => text.push(other),
                other => unreachable!("grammar: string escape {other:?}"),
            }
        }
        self.cap_length(span, text.len(), "string", limits::MAX_STRING_BYTES);
        Spanned::new(text, span)
    }

    /// `example-topic-12`: topic `example-topic`, partition 12 (split at the last `-`).
    pub(super) fn partition_ref(&mut self, pair: Pair<'_, Rule>) -> Spanned<PartitionRef> {
        let span = span_of(&pair);
        let text = pair.as_str();
        let (topic, number) = text.rsplit_once('-').expect("grammar: partition_ref ends in -N");
        self.cap_name(Span::new(span.start, span.start + topic.len()), "topic name");
        let number_span = Span::new(span.end - number.len(), span.end);
        let partition = number.parse::<u64>().unwrap_or_else(|_| {
            self.too_large(number_span, "partition number", u64::MAX);
            0
        });
        Spanned::new(PartitionRef { topic: topic.to_string(), partition }, span)
    }

    /// `message3` or `"order 3"`
    pub(super) fn message_ref(&mut self, pair: Pair<'_, Rule>) -> Spanned<MessageRef> {
        let span = span_of(&pair);
        let inner = only(pair);
        let value = match inner.as_rule() {
            Rule::string => self.string(inner).node,
            Rule::name => inner.as_str().to_string(),
            Rule::msg_by_send => {
                let text = inner.as_str().split_whitespace().collect::<Vec<_>>().join(" ");
                let mut parts = inner.into_inner().filter(|p| p.as_rule() != Rule::kw_send);
                let producer = parts.next().expect("grammar: a producer").as_str().to_string();
                let n = self.int(parts.next().expect("grammar: a send number"));
                return Spanned::new(MessageRef(text, Some((producer, n.node))), span);
            }
            _ => unexpected(&inner, "message_ref"),
        };
        Spanned::new(MessageRef(value, None), span)
    }

    /// `[message1, "order 2"]`
    pub(super) fn message_list(&mut self, pair: Pair<'_, Rule>) -> Vec<Spanned<MessageRef>> {
        parts(pair).map(|p| self.message_ref(p)).collect()
    }
}
