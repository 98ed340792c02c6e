//! The JSON Schema of what `scn run --format json|yaml` prints (`scn schema`), generated from
//! the report's own types with schemars, so it cannot drift from them.

use super::Report;
use super::render::SCHEMA_VERSION;
use serde_json::{Value, json};

/// Fields every report carries whatever `--sections` says.
const ALWAYS: [&str; 8] =
    ["schema_version", "scenario", "seed", "run", "totals", "flows", "unstated_violations", "passed"];

/// The schema (JSON Schema 2020-12) of a run report.
pub fn schema() -> Value {
    let mut v = serde_json::to_value(schemars::schema_for!(Report)).expect("schema serializes");
    let obj = v.as_object_mut().expect("an object schema");
    obj.insert("title".into(), "scn run report".into());
    obj.insert(
        "description".into(),
        "What `scn run --format json` (or yaml) prints. Sections left out by --sections drop their fields; the required ones are always there.".into(),
    );
    let properties = obj.get_mut("properties").and_then(Value::as_object_mut).expect("properties");
    properties.insert(
        "schema_version".into(),
        json!({
            "description": "The version of this shape; it grows when a field changes meaning or goes away.",
            "type": "integer",
            "const": SCHEMA_VERSION,
        }),
    );
    obj.insert("required".into(), json!(ALWAYS));
    v
}
