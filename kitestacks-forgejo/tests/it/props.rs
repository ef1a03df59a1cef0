//! Property tests of Forgejo's JSON: random and mutated answers (seeded from the shared
//! fixtures) deserialise into the models or fail with an error naming a line of the body,
//! never panic, and what the models then compute (push records, pull requests, commit
//! summaries, versions) does not panic either.

use kitestacks_forgejo::{Activity, Commit, RepoCommit, Repository, ServerVersion};
use proptest::prelude::*;
use serde::Deserialize;

use crate::mutate::{self, shared_fixture};

fn seeds() -> Vec<String> {
    [
        "activities-feeds.json",
        "commits-dotfiles.json",
        "commits-portal.json",
        "repos-search.json",
        "version.json",
        "version-gitea.json",
        "error-403-token-scope.json",
    ]
    .iter()
    .map(|f| shared_fixture(&format!("forgejo/{f}")))
    .collect()
}

/// `/repos/search`'s envelope.
#[derive(Deserialize)]
struct Search {
    data: Vec<Repository>,
}

/// A body that did not deserialise: the error names a line of it.
fn names_a_line(text: &str, e: &serde_json::Error) -> Result<(), TestCaseError> {
    let lines = mutate::lines(text);
    prop_assert!(
        (1..=lines + 1).contains(&e.line()),
        "{e} in a {lines}-line body"
    );
    Ok(())
}

/// At most one model per JSON object of the body.
fn bounded(text: &str, entries: usize) -> Result<(), TestCaseError> {
    let objects = text.matches('{').count();
    prop_assert!(
        entries <= objects,
        "{entries} entries from {objects} objects"
    );
    Ok(())
}

proptest! {
    #![proptest_config(mutate::config(256))]

    #[test]
    fn activities(text in mutate::input(seeds())) {
        match serde_json::from_str::<Vec<Activity>>(&text) {
            Ok(feed) => {
                bounded(&text, feed.len())?;
                for a in &feed {
                    let _ = (a.kind(), a.pull_request(), a.short_ref());
                    if let Some(push) = a.push() {
                        prop_assert!(push.commits.len() <= a.content.len());
                    }
                }
            }
            Err(e) => names_a_line(&text, &e)?,
        }
    }

    #[test]
    fn commits(text in mutate::input(seeds())) {
        match serde_json::from_str::<Vec<RepoCommit>>(&text) {
            Ok(commits) => {
                bounded(&text, commits.len())?;
                for c in &commits {
                    let summary = Commit::from_upstream("owner/repo", c);
                    prop_assert!(summary.title.len() <= c.commit.message.len());
                }
            }
            Err(e) => names_a_line(&text, &e)?,
        }
    }

    #[test]
    fn repositories(text in mutate::input(seeds())) {
        match serde_json::from_str::<Search>(&text) {
            Ok(search) => bounded(&text, search.data.len())?,
            Err(e) => names_a_line(&text, &e)?,
        }
    }

    #[test]
    fn version(text in mutate::input(seeds())) {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => {
                let v = ServerVersion::parse(v["version"].as_str().unwrap_or(&text));
                let _ = (v.number(), v.gitea_compatible());
            }
            Err(e) => names_a_line(&text, &e)?,
        }
    }
}

/// Nesting that random edits seldom build: a model or an error naming its line, not a
/// stack overflow (unknown keys are skipped, however deep their values nest).
#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    for text in [
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!(
            "[{}1{}]",
            r#"{"content": "#.repeat(100_000),
            "}".repeat(100_000)
        ),
    ] {
        if let Err(e) = serde_json::from_str::<Vec<Activity>>(&text) {
            assert_eq!(e.line(), 1, "{e}");
        }
        match serde_json::from_str::<Vec<RepoCommit>>(&text) {
            Ok(commits) => assert!(commits.len() <= 1),
            Err(e) => assert_eq!(e.line(), 1, "{e}"),
        }
    }
}
