//! `scn schema` against what `scn run` prints: every bundled scenario's JSON report, with all
//! sections and with one, validates against the schema. The validator below knows the keywords
//! schemars writes and refuses any other, so a constraint can never be skipped silently; it
//! is stricter than JSON Schema in one way: an object may not carry a field its schema does
//! not list, so the schema documents every field.

mod common;

use serde_json::Value;

fn check(schema: &Value, defs: &Value, v: &Value, at: &str) -> Result<(), String> {
    let s = schema.as_object().ok_or_else(|| format!("{at}: schema is not an object"))?;
    if let Some(r) = s.get("$ref") {
        let name = r.as_str().and_then(|r| r.strip_prefix("#/$defs/")).ok_or_else(|| format!("{at}: bad $ref {r}"))?;
        return check(&defs[name], defs, v, at);
    }
    for (k, want) in s {
        match k.as_str() {
            "description" | "title" | "$schema" | "$defs" => {}
            "type" => {
                let types: Vec<&str> = match want {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => return Err(format!("{at}: bad type {want}")),
                };
                let ok = types.iter().any(|t| match *t {
                    "object" => v.is_object(),
                    "array" => v.is_array(),
                    "string" => v.is_string(),
                    "boolean" => v.is_boolean(),
                    "null" => v.is_null(),
                    "integer" => v.is_i64() || v.is_u64(),
                    "number" => v.is_number(),
                    _ => false,
                });
                if !ok {
                    return Err(format!("{at}: {v} is not of type {want}"));
                }
            }
            "format" => {
                let fits = match want.as_str() {
                    Some("uint64") => v.is_u64(),
                    Some("uint32") => v.as_u64().is_some_and(|n| n <= u64::from(u32::MAX)),
                    Some("uint16") => v.as_u64().is_some_and(|n| n <= u64::from(u16::MAX)),
                    Some("uint") => v.is_u64(),
                    Some("double") | Some("float") => v.is_number(),
                    Some("int64") | Some("int32") => v.is_i64(),
                    other => return Err(format!("{at}: unknown format {other:?}")),
                };
                if !fits && !v.is_null() {
                    return Err(format!("{at}: {v} does not fit {want}"));
                }
            }
            "minimum" => {
                if v.is_number() && v.as_f64() < want.as_f64() {
                    return Err(format!("{at}: {v} < {want}"));
                }
            }
            "maximum" => {
                if v.is_number() && v.as_f64() > want.as_f64() {
                    return Err(format!("{at}: {v} > {want}"));
                }
            }
            "const" if v != want => return Err(format!("{at}: {v} is not {want}")),
            "const" => {}
            "enum" => {
                if !want.as_array().is_some_and(|e| e.contains(v)) {
                    return Err(format!("{at}: {v} not in {want}"));
                }
            }
            "required" => {
                for name in want.as_array().into_iter().flatten().filter_map(Value::as_str) {
                    if v.get(name).is_none() {
                        return Err(format!("{at}: no field `{name}`"));
                    }
                }
            }
            "properties" => {
                let (Some(obj), Some(props)) = (v.as_object(), want.as_object()) else { continue };
                for (name, field) in obj {
                    let sub = props.get(name).ok_or_else(|| format!("{at}: field `{name}` is not in the schema"))?;
                    check(sub, defs, field, &format!("{at}.{name}"))?;
                }
            }
            "items" => {
                for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                    check(want, defs, item, &format!("{at}[{i}]"))?;
                }
            }
            "anyOf" | "oneOf" => {
                let options = want.as_array().ok_or_else(|| format!("{at}: bad {k}"))?;
                let passing = options.iter().filter(|o| check(o, defs, v, at).is_ok()).count();
                if passing == 0 || (k == "oneOf" && passing > 1) {
                    return Err(format!("{at}: {v} matches {passing} of the {k} options"));
                }
            }
            other => return Err(format!("{at}: the test's validator does not know `{other}`")),
        }
    }
    Ok(())
}

fn validate(schema: &Value, report: &Value) -> Result<(), String> {
    check(schema, &schema["$defs"], report, "$")
}

#[test]
fn every_bundled_report_validates_against_scn_schema() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scn")).arg("schema").output().expect("scn schema");
    assert!(out.status.success());
    let schema: Value = serde_json::from_slice(&out.stdout).expect("the schema is JSON");
    assert_eq!(schema, scn::report::schema(), "the command prints the library's schema");
    assert_eq!(schema["properties"]["schema_version"]["const"], scn::report::SCHEMA_VERSION);
    let mut checked = 0;
    for dir in ["scenarios/run", "scenarios/explore", "tests/regressions"] {
        for path in common::files(dir) {
            let scenario = common::scenario(&path);
            let outcome = scenario.run(&scn::RunOptions::default());
            for sections in [&[][..], &[scn::Section::Expect]] {
                let json: Value = serde_json::from_str(&outcome.render(scn::Format::Json, sections)).expect("json");
                validate(&schema, &json).unwrap_or_else(|e| panic!("{} ({sections:?}): {e}", common::display(&path)));
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked} reports");
}

#[test]
fn the_validator_catches_what_the_schema_forbids() {
    let schema = scn::report::schema();
    let scenario = common::scenario(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/run/idempotent-producer-dedup.scn"
    )));
    let good: Value =
        serde_json::from_str(&scenario.run(&scn::RunOptions::default()).render(scn::Format::Json, &[])).expect("json");
    validate(&schema, &good).expect("valid");
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        edit(&mut v);
        validate(&schema, &v).expect_err("must be refused")
    };
    assert!(broken(&|v| v["totals"]["lost"] = "0".into()).starts_with("$.totals.lost: \"0\""));
    assert!(broken(&|v| v["passed"] = 1.into()).contains("$.passed"));
    assert!(broken(&|v| v["schema_version"] = 1.into()).contains("is not 2"));
    assert!(broken(&|v| v["run"]["end_ms"] = 1.into()).contains("end_ms"), "end_ms went away in schema_version 2");
    assert!(broken(&|v| drop(v.as_object_mut().expect("obj").remove("flows"))).contains("no field `flows`"));
    assert!(broken(&|v| v["surprise"] = true.into()).contains("field `surprise` is not in the schema"));
    assert!(broken(&|v| v["flows"][0]["sent"] = (-1).into()).contains("$.flows[0].sent"));
}
