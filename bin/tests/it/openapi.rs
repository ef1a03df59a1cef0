//! The committed OpenAPI document (`bin/openapi.json`) must match the generated one.
//! Run with `UPDATE_EXPECT=1` to rewrite it, then review the diff.

use std::collections::BTreeSet;
use std::path::Path;

use kitestacks::portal::routes::{ROUTES, Route};

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

/// The document names exactly the route table's routes: every documented row has its
/// paths in it, every path in it is a row's, and each is a GET (the table's routes answer
/// GET and HEAD only). A route added to the table without documentation, or documented
/// without being routed, fails here.
#[test]
fn the_document_names_exactly_the_routes_of_the_table() {
    let doc: serde_json::Value =
        serde_json::from_slice(&kitestacks::portal::openapi::json()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let documented: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
    let table: Vec<String> = ROUTES.iter().flat_map(|e| e.openapi_paths()).collect();
    let table: BTreeSet<&str> = table.iter().map(String::as_str).collect();
    assert_eq!(documented, table);

    for (path, ops) in paths {
        let methods: Vec<&String> = ops.as_object().unwrap().keys().collect();
        assert_eq!(methods, ["get"], "{path}");
        // A concrete path (a `{param}` stands for any value) finds the row it came from.
        let concrete = path.replace("{file}", "index.html");
        let route = Route::of(&concrete).unwrap_or_else(|| panic!("{path} is not routed"));
        assert!(route.entry().documented, "{path}");
    }
    // What the document leaves out, on purpose: Prometheus text and the page.
    let undocumented: Vec<&str> = ROUTES
        .iter()
        .filter(|e| !e.documented)
        .map(|e| e.pattern)
        .collect();
    assert_eq!(undocumented, ["/metrics", "static"]);
}
