//! A small JSON Schema checker for the subset utoipa emits (`$ref`, `type` including
//! `["number", "null"]`, `properties`, `required`, `items`, `enum`, `oneOf`/`anyOf`/
//! `allOf`, `additionalProperties`), so tests can check a route's JSON against the
//! OpenAPI document the server publishes.

use serde_json::Value;

/// Checks `value` against the 200 response schema of `GET path` in `doc`; returns every
/// mismatch found (empty when the value conforms).
pub fn check_response(doc: &Value, path: &str, status: &str, value: &Value) -> Vec<String> {
    let schema =
        &doc["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"];
    assert!(!schema.is_null(), "no {status} JSON schema for GET {path}");
    let mut errors = Vec::new();
    check(doc, schema, value, "$", &mut errors);
    errors
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.strip_prefix("#/components/schemas/").expect("local ref");
            let target = &doc["components"]["schemas"][name];
            assert!(!target.is_null(), "dangling $ref {r}");
            resolve(doc, target)
        }
        None => schema,
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        other => panic!("unknown type {other}"),
    }
}

fn check(doc: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(alts) = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)
    {
        let ok = alts.iter().filter(|s| {
            let mut e = Vec::new();
            check(doc, s, v, at, &mut e);
            e.is_empty()
        });
        if ok.count() == 0 {
            errors.push(format!("{at}: matches none of the alternatives: {v}"));
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(doc, s, v, at, errors);
        }
    }
    match schema.get("type") {
        Some(Value::String(t)) if !type_ok(t, v) => {
            errors.push(format!("{at}: expected {t}, got {v}"))
        }
        Some(Value::Array(ts)) if !ts.iter().any(|t| type_ok(t.as_str().unwrap(), v)) => {
            errors.push(format!("{at}: expected one of {ts:?}, got {v}"))
        }
        _ => {}
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errors.push(format!("{at}: {v} not in {e:?}"));
    }
    if let Some(obj) = v.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !obj.contains_key(req.as_str().unwrap()) {
                errors.push(format!("{at}: missing required {req}"));
            }
        }
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(doc, s, val, &format!("{at}.{k}"), errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        errors.push(format!("{at}: unexpected property {k}"))
                    }
                    Some(s @ Value::Object(_)) => check(doc, s, val, &format!("{at}.{k}"), errors),
                    _ if props.is_some() => errors.push(format!("{at}: undocumented property {k}")),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            check(doc, items, x, &format!("{at}[{i}]"), errors);
        }
    }
}

#[test]
fn the_checker_finds_mismatches() {
    let doc = serde_json::json!({
        "paths": {"/x": {"get": {"responses": {"200": {"content": {"application/json": {"schema":
            {"$ref": "#/components/schemas/T"}}}}}}}},
        "components": {"schemas": {"T": {"type": "object", "required": ["a", "b"], "properties": {
            "a": {"type": "integer"},
            "b": {"oneOf": [{"type": "null"}, {"type": "array", "items": {"type": "string", "enum": ["x"]}}]}
        }}}}
    });
    let ok = serde_json::json!({"a": 1, "b": ["x"]});
    assert!(check_response(&doc, "/x", "200", &ok).is_empty());
    let ok_null = serde_json::json!({"a": 1, "b": null});
    assert!(check_response(&doc, "/x", "200", &ok_null).is_empty());
    let bad = serde_json::json!({"a": "1", "b": ["y"], "c": 0});
    let errors = check_response(&doc, "/x", "200", &bad);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_eq!(
        check_response(&doc, "/x", "200", &serde_json::json!({})).len(),
        2
    );
}
