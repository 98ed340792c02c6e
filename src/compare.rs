//! Compare mode: one scenario run under several configurations (the three guarantee presets by
//! default, or the matrix of `--vary KEY=V1,V2` options), one summary row per configuration:
//! the seeds' mode / risk / guarantee table, measured.

use crate::ast::{self, Guarantee, Setting, Spanned, Value};
use crate::check::{CLUSTER_KEYS, CONSUMER_KEYS, PRODUCER_KEYS};
use crate::diag::Span;
use crate::model::limits;
use crate::outcome::{Analysis, Fate, Latency};
use rayon::prelude::*;
use serde::Serialize;

/// One configuration: a guarantee preset for every client, and settings for every client
/// that has them.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub guarantee: Option<Guarantee>,
    pub settings: Vec<(String, Value)>,
}

impl Variant {
    /// The configuration as key/value pairs (`guarantee` too), values typed as in JSON.
    pub fn pairs(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut out = serde_json::Map::new();
        if let Some(g) = self.guarantee {
            out.insert("guarantee".into(), g.as_str().into());
        }
        for (k, v) in &self.settings {
            let v = match v {
                Value::Int(n) => (*n).into(),
                Value::Bool(b) => (*b).into(),
                other => value_text(other).into(),
            };
            out.insert(k.clone(), v);
        }
        out
    }

    pub fn label(&self) -> String {
        let mut parts: Vec<String> = self.guarantee.iter().map(|g| g.as_str().to_string()).collect();
        parts.extend(self.settings.iter().map(|(k, v)| format!("{k}={}", value_text(v))));
        if parts.is_empty() { "as written".into() } else { parts.join(", ") }
    }
}

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub config: String,
    /// The configuration as key/value pairs.
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// Whether the configuration checks (an invalid one did not run).
    pub valid: bool,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub failed: u64,
    /// Send to first processing if a group reads, else send to acknowledgement.
    pub latency: Option<Latency>,
    pub guarantee_holds: bool,
    /// Why it does not hold, or why the configuration could not run.
    pub note: String,
    /// The scenario's `expect` lines that failed under this configuration.
    pub expectations_failed: Vec<String>,
}

/// `--vary KEY=V1,V2` options, parsed; `guarantee` varies the preset. A key given twice, a
/// value listed twice, or a matrix of more than [`limits::MAX_COMPARE_CONFIGS`]
/// configurations is an error (each configuration is a whole run).
pub fn parse_vary(options: &[String]) -> Result<Vec<(String, Vec<String>)>, String> {
    let vary = parse_each(options)?;
    for (i, (key, values)) in vary.iter().enumerate() {
        if vary[..i].iter().any(|(k, _)| k == key) {
            return Err(format!("--vary {key}: given twice; list every value in one option: {key}=V1,V2"));
        }
        if let Some(v) = values.iter().enumerate().find_map(|(j, v)| values[..j].contains(v).then_some(v)) {
            return Err(format!("--vary {key}: the value {v} is listed twice"));
        }
    }
    let configs = vary.iter().try_fold(1usize, |n, (_, values)| n.checked_mul(values.len()));
    match configs {
        Some(n) if n <= limits::MAX_COMPARE_CONFIGS => Ok(vary),
        _ => {
            let sizes: Vec<String> = vary.iter().map(|(_, v)| v.len().to_string()).collect();
            Err(format!(
                "--vary: {} configurations; compare runs at most {}",
                match configs {
                    Some(n) if sizes.len() > 1 => format!("{} = {n}", sizes.join(" x ")),
                    Some(n) => n.to_string(),
                    None => sizes.join(" x "),
                },
                limits::MAX_COMPARE_CONFIGS
            ))
        }
    }
}

fn parse_each(options: &[String]) -> Result<Vec<(String, Vec<String>)>, String> {
    options
        .iter()
        .map(|o| {
            let (key, values) = o.split_once('=').ok_or_else(|| format!("--vary {o}: expected KEY=V1,V2"))?;
            let key = key.trim().to_string();
            let values: Vec<String> =
                values.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
            if values.is_empty() {
                return Err(format!("--vary {o}: no values"));
            }
            let known = key == "guarantee"
                || PRODUCER_KEYS.contains(&key.as_str())
                || CONSUMER_KEYS.contains(&key.as_str())
                || CLUSTER_KEYS.contains(&key.as_str());
            if !known {
                return Err(format!("--vary {key}: not a cluster, producer or consumer setting (nor `guarantee`)"));
            }
            if key == "guarantee" {
                for v in &values {
                    guarantee(v).ok_or_else(|| {
                        format!("--vary guarantee={v}: expected at-most-once, at-least-once or exactly-once")
                    })?;
                }
            }
            Ok((key, values))
        })
        .collect()
}

fn guarantee(v: &str) -> Option<Guarantee> {
    match v {
        "at-most-once" => Some(Guarantee::AtMostOnce),
        "at-least-once" => Some(Guarantee::AtLeastOnce),
        "exactly-once" => Some(Guarantee::ExactlyOnce),
        _ => None,
    }
}

/// Every combination of the options (the three guarantees when there are none).
pub fn variants(vary: &[(String, Vec<String>)]) -> Vec<Variant> {
    if vary.is_empty() {
        return [Guarantee::AtMostOnce, Guarantee::AtLeastOnce, Guarantee::ExactlyOnce]
            .into_iter()
            .map(|g| Variant { guarantee: Some(g), settings: Vec::new() })
            .collect();
    }
    let mut out = vec![Variant { guarantee: None, settings: Vec::new() }];
    for (key, values) in vary {
        out = out
            .into_iter()
            .flat_map(|v| {
                values.iter().map(move |x| {
                    let mut v = v.clone();
                    if key == "guarantee" {
                        v.guarantee = guarantee(x);
                    } else {
                        v.settings.push((key.clone(), value_of(x)));
                    }
                    v
                })
            })
            .collect();
    }
    out
}

fn value_of(x: &str) -> Value {
    if let Ok(n) = x.parse::<i64>() {
        return Value::Int(n);
    }
    if x == "true" || x == "false" {
        return Value::Bool(x == "true");
    }
    let ms = |n: &str, unit: u64| n.parse::<u64>().ok().and_then(|n| n.checked_mul(unit)).map(Value::Duration);
    if let Some(v) = x.strip_suffix("ms").and_then(|n| ms(n, 1)) {
        return v;
    }
    if let Some(v) = x.strip_suffix('s').and_then(|n| ms(n, 1000)) {
        return v;
    }
    Value::Word(x.to_string())
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Int(n) => n.to_string(),
        Value::Duration(ms) => format!("{ms}ms"),
        Value::Bool(b) => b.to_string(),
        Value::Str(s) | Value::Word(s) => s.clone(),
    }
}

/// The file as the variant configures it. A guarantee replaces every client's preset (plain
/// consumers cannot be exactly-once: under it they stay at-least-once and read_committed);
/// a setting replaces the one every client that has it wrote.
pub fn apply(file: &ast::File, v: &Variant) -> ast::File {
    let mut f = file.clone();
    let set = |settings: &mut Vec<Setting>, key: &str, value: &Value| {
        settings.retain(|s| s.key.node != key);
        settings.push(Setting {
            key: Spanned::new(key.to_string(), Span::default()),
            value: Spanned::new(value.clone(), Span::default()),
        });
    };
    if let Some(g) = v.guarantee {
        for p in &mut f.producers {
            // The preset decides what the variant compares: drop the settings it sets.
            p.settings.retain(|s| !["acks", "retries", "enable.idempotence"].contains(&s.key.node.as_str()));
            p.guarantee = Some(Spanned::new(g, Span::default()));
        }
        for c in &mut f.consumers {
            c.settings.retain(|s| s.key.node != "enable.auto.commit");
            c.commit = None;
            let cg = if g == Guarantee::ExactlyOnce {
                set(&mut c.settings, "isolation.level", &Value::Word("read_committed".into()));
                Guarantee::AtLeastOnce
            } else {
                g
            };
            c.guarantee = Some(Spanned::new(cg, Span::default()));
        }
        for p in &mut f.processors {
            p.guarantee = Some(Spanned::new(g, Span::default()));
        }
    }
    for (key, value) in &v.settings {
        if CLUSTER_KEYS.contains(&key.as_str()) {
            if let Some(c) = &mut f.cluster {
                set(&mut c.node.settings, key, value);
            }
            continue;
        }
        if PRODUCER_KEYS.contains(&key.as_str()) {
            f.producers.iter_mut().for_each(|p| set(&mut p.settings, key, value));
        }
        if CONSUMER_KEYS.contains(&key.as_str()) {
            f.consumers.iter_mut().for_each(|c| set(&mut c.settings, key, value));
        }
        f.processors.iter_mut().for_each(|p| set(&mut p.settings, key, value));
    }
    f
}

/// Runs every variant (in parallel; each run is itself deterministic) and summarizes it.
pub fn compare(file: &ast::File, variants: &[Variant], seed: Option<u64>) -> Vec<Row> {
    variants
        .par_iter()
        .map(|v| {
            let config = v.label();
            let model = match crate::check::check(&apply(file, v)) {
                Ok(m) => m,
                Err(d) => {
                    let first = d.0.first().map_or(String::new(), |d| format!("{}: {}", d.message, d.label));
                    return Row {
                        config,
                        settings: v.pairs(),
                        valid: false,
                        expectations_failed: Vec::new(),
                        lost: 0,
                        duplicated: 0,
                        reordered: 0,
                        failed: 0,
                        latency: None,
                        guarantee_holds: false,
                        note: format!("invalid configuration: {first}"),
                    };
                }
            };
            let run = crate::sim::run(&model, &crate::sim::Options { trace_limit: 0, seed, record_points: false });
            let a = Analysis::new(&model, &run);
            let fates = a.fates();
            let count = |f: Fate| fates.iter().filter(|x| x.fate == f).count() as u64;
            let flows = a.flows(&fates);
            let cost = a.cost(&fates);
            let broken: Vec<String> =
                flows.iter().filter(|f| !f.holds).map(|f| format!("{}: {}", f.flow, f.verdict)).collect();
            let expectations_failed = a
                .expectations(&fates)
                .into_iter()
                .filter(|e| !e.passed)
                .map(|e| format!("`{}` expected {}, got {}", e.expectation, e.expected, e.actual))
                .collect();
            Row {
                config,
                settings: v.pairs(),
                valid: true,
                expectations_failed,
                lost: count(Fate::Lost),
                duplicated: count(Fate::Duplicated),
                reordered: a.reordered(),
                failed: count(Fate::Failed),
                latency: cost.end_to_end_latency.or(cost.produce_latency),
                guarantee_holds: broken.is_empty(),
                note: broken.join("; "),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_vary;

    fn vary(options: &[&str]) -> Result<usize, String> {
        let options: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        parse_vary(&options).map(|v| super::variants(&v).len())
    }

    #[test]
    fn a_key_or_a_value_twice_is_refused() {
        assert_eq!(vary(&["acks=0,1", "retries=0,5"]), Ok(4));
        assert_eq!(
            vary(&["acks=0", "acks=1"]),
            Err("--vary acks: given twice; list every value in one option: acks=V1,V2".into())
        );
        assert_eq!(vary(&["acks=1,all,1"]), Err("--vary acks: the value 1 is listed twice".into()));
    }

    #[test]
    fn the_matrix_is_bounded() {
        let values = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        let at_limit = [format!("retries={}", values(16)), format!("batch.size={}", values(16))];
        assert_eq!(vary(&[&at_limit[0], &at_limit[1]]), Ok(256));
        let over = format!("linger.ms={}", values(2));
        assert_eq!(
            vary(&[&at_limit[0], &at_limit[1], &over]),
            Err("--vary: 16 x 16 x 2 = 512 configurations; compare runs at most 256".into())
        );
    }

    #[test]
    fn a_huge_duration_is_a_word_not_an_overflow() {
        assert_eq!(super::value_of("18446744073709551615s"), crate::ast::Value::Word("18446744073709551615s".into()));
    }
}
