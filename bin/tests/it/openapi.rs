//! The committed OpenAPI document (`bin/openapi.json`) must match the generated one.
//! Run with `UPDATE_EXPECT=1` to rewrite it, then review the diff.

use std::path::Path;

#[test]
fn committed_openapi_json_matches_the_generated_one() {
    let generated = String::from_utf8(kitestacks::portal::openapi::json()).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "bin/openapi.json is out of date: run `UPDATE_EXPECT=1 cargo test -p kitestacks --test it openapi` \
         and review the diff"
    );
}

#[test]
fn every_operation_documents_its_responses_and_examples() {
    let doc: serde_json::Value =
        serde_json::from_slice(&kitestacks::portal::openapi::json()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path}");
            assert!(op["summary"].is_string(), "{method} {path} has no summary");
        }
    }
    let schemas = &doc["components"]["schemas"];
    for name in ["Health", "ServicesResponse", "ErrorBody", "Service", "Host"] {
        assert!(schemas.get(name).is_some(), "{name} schema missing");
    }
    assert!(schemas["ErrorBody"]["example"].is_object());
    assert!(schemas["Health"]["example"].is_object());
}
