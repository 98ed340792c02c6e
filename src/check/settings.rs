//! Typed reads of `key value` settings, with Kafka's names, defaults and ranges, and a
//! "did you mean" for misspelt keys.

use crate::ast::{Setting, Value};
use crate::diag::{Diagnostic, Span};

/// Where a setting's value came from: the user's own line, or a guarantee preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    User,
    Preset,
}

/// A setting found in a block.
#[derive(Debug, Clone)]
pub struct Found {
    pub value: Value,
    pub span: Span,
    pub origin: Origin,
}

/// The settings of one block, checked against the keys that block knows.
pub struct Settings {
    /// e.g. "producer"
    kind: &'static str,
    entries: Vec<(String, Found)>,
    pub diags: Vec<Diagnostic>,
}

impl Settings {
    pub fn new(kind: &'static str, settings: &[Setting], known: &[&str]) -> Settings {
        let mut s = Settings { kind, entries: Vec::new(), diags: Vec::new() };
        for setting in settings {
            let key = setting.key.node.as_str();
            if !known.contains(&key) {
                let mut d = Diagnostic::new(format!("unknown {kind} setting `{key}`"), setting.key.span)
                    .label(format!("not a {kind} setting"));
                d = match suggest(key, known) {
                    Some(k) => d.note(format!("did you mean `{k}`?")),
                    None => d.note(format!("{kind} settings: {}", known.join(", "))),
                };
                s.diags.push(d);
                continue;
            }
            if let Some((_, first)) = s.entries.iter().find(|(k, f)| k == key && f.origin == Origin::User) {
                let first = first.span;
                s.diags.push(
                    Diagnostic::new(format!("`{key}` is set twice"), setting.key.span)
                        .label("second setting")
                        .related(first, "first set here"),
                );
                continue;
            }
            s.entries.push((
                key.to_string(),
                Found { value: setting.value.node.clone(), span: setting.value.span, origin: Origin::User },
            ));
        }
        s
    }

    /// Adds a preset value unless the user set the key.
    pub fn preset(&mut self, key: &str, value: Value, span: Span) {
        if self.get(key).is_none() {
            self.entries.push((key.to_string(), Found { value, span, origin: Origin::Preset }));
        }
    }

    pub fn get(&self, key: &str) -> Option<&Found> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, f)| f)
    }

    /// Whether the user (or a preset, which stands for the user) configured `key`.
    pub fn configured(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn origin_note(&self, key: &str) -> Option<String> {
        match self.get(key) {
            Some(f) if f.origin == Origin::Preset => Some(format!("`{key}` was set by the guarantee preset")),
            _ => None,
        }
    }

    fn error(&mut self, key: &str, span: Span, expected: &str) {
        self.diags.push(
            Diagnostic::new(format!("invalid value for {} setting `{key}`", self.kind), span)
                .label(format!("expected {expected}")),
        );
    }

    /// A whole number (or a duration, for `*.ms` keys) in `min..=max`.
    pub fn number(&mut self, key: &str, default: u64, min: u64, max: u64) -> u64 {
        let Some(f) = self.get(key).cloned() else {
            return default;
        };
        let n = match f.value {
            Value::Int(n) if n >= 0 => Some(n as u64),
            Value::Duration(ms) if key.ends_with(".ms") => Some(ms),
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => n,
            _ => {
                let what = if key.ends_with(".ms") {
                    format!("milliseconds (or a duration) from {min} to {max}")
                } else {
                    format!("a number from {min} to {max}")
                };
                self.error(key, f.span, &what);
                default
            }
        }
    }

    /// A whole number (or a duration, for `*.ms` keys) of 0 or more, or `-1` for Kafka's "no
    /// limit" (None), as `retention.ms` and `retention.bytes` take it.
    pub fn limit(&mut self, key: &str, default: Option<u64>) -> Option<u64> {
        let f = self.get(key).cloned()?;
        match f.value {
            Value::Int(-1) => None,
            Value::Int(n) if n >= 0 => Some(n as u64),
            Value::Duration(ms) if key.ends_with(".ms") => Some(ms),
            _ => {
                let unit = if key.ends_with(".ms") { "milliseconds (or a duration)" } else { "bytes" };
                self.error(key, f.span, &format!("-1 (no limit) or a number of {unit} from 0"));
                default
            }
        }
    }

    /// A duration (or a bare number of milliseconds) for scn's own settings such as `latency`.
    pub fn duration(&mut self, key: &str, default: u64, max: u64) -> u64 {
        let Some(f) = self.get(key).cloned() else {
            return default;
        };
        match f.value {
            Value::Duration(ms) if ms <= max => ms,
            Value::Int(n) if n >= 0 && (n as u64) <= max => n as u64,
            _ => {
                self.error(key, f.span, &format!("a duration like `2ms`, at most {max}ms"));
                default
            }
        }
    }

    pub fn boolean(&mut self, key: &str, default: bool) -> bool {
        let Some(f) = self.get(key).cloned() else {
            return default;
        };
        match f.value {
            Value::Bool(b) => b,
            _ => {
                self.error(key, f.span, "`true` or `false`");
                default
            }
        }
    }

    /// One of `choices` (a bare word, a string or a number, compared as text).
    pub fn choice(&mut self, key: &str, default: &'static str, choices: &[&'static str]) -> &'static str {
        let Some(f) = self.get(key).cloned() else {
            return default;
        };
        let text = match &f.value {
            Value::Word(w) | Value::Str(w) => w.clone(),
            Value::Int(n) => n.to_string(),
            _ => String::new(),
        };
        match choices.iter().find(|c| **c == text) {
            Some(c) => c,
            None => {
                let list = choices.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
                self.error(key, f.span, &format!("one of {list}"));
                default
            }
        }
    }

    pub fn span_of(&self, key: &str) -> Option<Span> {
        self.get(key).map(|f| f.span)
    }
}

/// The known name closest to `word`, if it is close enough to be a typo.
pub fn suggest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known.iter().map(|k| (distance(word, k), *k)).filter(|(d, k)| *d <= 2.max(k.len() / 4)).min().map(|(_, k)| k)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Renders a preset value so `Settings::preset` can be fed from a table.
pub fn word(w: &str) -> Value {
    Value::Word(w.to_string())
}
