//! `recent_commits`: what it returns, and how few requests it costs.

use kitestacks_forgejo::{Commit, ErrorKind, Scope};
use serde_json::{Value, json};

use crate::fake::{Fake, Reply, fixture_json};

const SEARCH: &str = "/api/v1/repos/search";
const PORTAL: &str = "/api/v1/repos/homelab/portal/commits";
const DOTFILES: &str = "/api/v1/repos/mara/dotfiles/commits";
const SCRATCH: &str = "/api/v1/repos/mara/scratch/commits";

fn shas(commits: &[Commit]) -> Vec<&str> {
    commits.iter().map(|c| &c.sha[..4]).collect()
}

#[tokio::test]
async fn fixtures_cost_one_search_plus_one_list_per_non_empty_repo() {
    let fake = Fake::forgejo().await;
    let client = fake.client();
    let commits = client.recent_commits(3).await.unwrap();
    assert_eq!(shas(&commits), ["9f2c", "3e8a", "c41d"]);
    let repos: Vec<&str> = commits.iter().map(|c| c.repo.as_str()).collect();
    assert_eq!(repos, ["homelab/portal", "mara/dotfiles", "homelab/portal"]);
    let first = &commits[0];
    assert_eq!(first.sha, "9f2c4e1a7b3d5f60812a4c9e0d7b6a5f3e2c1d08");
    assert_eq!(first.short_sha, "9f2c4e1a7b");
    assert_eq!(
        first.title,
        "portal: fall back to open-meteo when wttr.in is down"
    );
    assert_eq!(first.author, "Mara Lindqvist");
    assert_eq!(first.date, "2026-11-22T08:38:52+01:00");
    assert_eq!(
        first.html_url,
        "https://forge.homelab.example/homelab/portal/commit/9f2c4e1a7b3d5f60812a4c9e0d7b6a5f3e2c1d08"
    );

    assert_eq!(fake.total(), 3, "{:#?}", fake.seen());
    assert_eq!(
        (fake.hits(SEARCH), fake.hits(PORTAL), fake.hits(DOTFILES)),
        (1, 1, 1)
    );
    assert_eq!(
        fake.hits(SCRATCH),
        0,
        "empty: true in the search means no request"
    );
    for s in fake.seen() {
        let parts: Vec<&str> = s.query.split('&').collect();
        if s.path == SEARCH {
            assert!(parts.contains(&"sort=updated") && parts.contains(&"order=desc"));
        } else {
            for p in ["stat=false", "verification=false", "files=false", "limit=3"] {
                assert!(parts.contains(&p), "{p} in {}", s.query);
            }
        }
    }

    // Nothing changed: the search alone.
    fake.reset();
    let again = client.recent_commits(3).await.unwrap();
    assert_eq!(again, commits);
    assert_eq!(fake.total(), 1, "{:#?}", fake.seen());

    // More commits than cached: only the repository whose cached list may be cut is asked
    // again (dotfiles gave 2 of 3: that is its whole history).
    fake.reset();
    let five = client.recent_commits(5).await.unwrap();
    assert_eq!(shas(&five), ["9f2c", "3e8a", "c41d", "b72f", "5ab3"]);
    assert_eq!((fake.total(), fake.hits(PORTAL)), (2, 1));

    // A clone shares the cache.
    fake.reset();
    assert_eq!(client.clone().recent_commits(5).await.unwrap(), five);
    assert_eq!(fake.total(), 1);
}

#[tokio::test]
async fn private_repositories_are_left_out_of_a_public_scope_and_never_asked() {
    // mara/dotfiles is `private: true` in the search fixture.
    let fake = Fake::forgejo().await;
    let client = fake.client();
    let public = client.recent_commits_in(Scope::default(), 3).await.unwrap();
    assert_eq!(shas(&public), ["9f2c", "c41d", "5ab3"]);
    assert!(
        public.iter().all(|c| c.repo == "homelab/portal"),
        "{public:#?}"
    );
    assert_eq!(fake.hits(DOTFILES), 0, "{:#?}", fake.seen());

    let scope = Scope {
        include_private: true,
        ..Scope::default()
    };
    let all = client.recent_commits_in(scope, 3).await.unwrap();
    assert_eq!(shas(&all), ["9f2c", "3e8a", "c41d"]);
    assert_eq!(all[1].repo, "mara/dotfiles");
    let owned = Scope {
        owner: Some("mara"),
        include_private: false,
    };
    assert_eq!(client.recent_commits_in(owned, 3).await.unwrap(), []);
}

/// A repository of the synthetic instance: `mara/r<i>`, updated at `updated`.
fn repo(i: usize, updated: &str) -> Value {
    let mut r = fixture_json("repos-search.json")["data"][1].clone();
    r["name"] = json!(format!("r{i}"));
    r["full_name"] = json!(format!("mara/r{i}"));
    r["updated_at"] = json!(updated);
    r
}

/// A commit list from `(sha number, author date)`.
fn commits(list: &[(usize, String)]) -> String {
    let template = fixture_json("commits-portal.json")[0].clone();
    let all: Vec<Value> = list
        .iter()
        .map(|(n, date)| {
            let mut c = template.clone();
            c["sha"] = json!(format!("{n:040x}"));
            c["commit"]["author"]["date"] = json!(date);
            c
        })
        .collect();
    Value::Array(all).to_string()
}

fn search(repos: Vec<Value>) -> Reply {
    let n = repos.len() as u64;
    Reply::json(200, json!({"ok": true, "data": repos}).to_string()).total(n)
}

#[tokio::test]
async fn the_walk_stops_early_and_only_changed_repos_are_fetched_again() {
    // 12 repositories, r0 updated last; each has 3 commits up to its update time.
    let fake = Fake::start().await;
    let hour = |i: usize| 11 - i;
    let mut repos = Vec::new();
    for i in 0..12 {
        let updated = format!("2026-11-22T{:02}:30:00Z", hour(i));
        repos.push(repo(i, &updated));
        let list: Vec<(usize, String)> = (0..3)
            .map(|j| {
                (
                    i * 10 + j,
                    format!("2026-11-22T{:02}:{}0:00+00:00", hour(i), 3 - j),
                )
            })
            .collect();
        fake.route(
            &format!("/api/v1/repos/mara/r{i}/commits"),
            Reply::json(200, commits(&list)),
        );
    }
    fake.route(SEARCH, search(repos.clone()));
    let client = fake.client_with(|b| b.concurrency(2));

    let got = client.recent_commits(2).await.unwrap();
    assert_eq!(
        got.iter().map(|c| c.repo.as_str()).collect::<Vec<_>>(),
        ["mara/r0", "mara/r0"]
    );
    // One search, then one wave of two lists: r2 was updated before the 2nd newest commit.
    assert_eq!(fake.total(), 3, "{:#?}", fake.seen());
    assert_eq!(fake.hits("/api/v1/repos/mara/r1/commits"), 1);
    assert_eq!(fake.hits("/api/v1/repos/mara/r2/commits"), 0);

    fake.reset();
    assert_eq!(client.recent_commits(2).await.unwrap(), got);
    assert_eq!(fake.total(), 1);

    // A push to r5: it moves to the top of the search and is the only list asked again.
    let mut moved = repos.clone();
    moved.remove(5);
    moved.insert(0, repo(5, "2026-11-22T12:30:00Z"));
    fake.route(SEARCH, search(moved));
    let pushed = vec![
        (999, "2026-11-22T12:29:00+00:00".to_owned()),
        (50, "2026-11-22T06:30:00+00:00".to_owned()),
    ];
    fake.route(
        "/api/v1/repos/mara/r5/commits",
        Reply::json(200, commits(&pushed)),
    );
    fake.reset();
    let got = client.recent_commits(2).await.unwrap();
    assert_eq!(got[0].sha, format!("{:040x}", 999));
    assert_eq!(got[1].repo, "mara/r0");
    assert_eq!(fake.total(), 2, "{:#?}", fake.seen());
    assert_eq!(fake.hits("/api/v1/repos/mara/r5/commits"), 1);

    // Asking for more walks further, in waves, never past the per-call bound.
    fake.reset();
    let all = client.recent_commits(50).await.unwrap();
    assert_eq!(all.len(), 12 * 3 - 1);
    assert!(fake.total() <= 1 + kitestacks_forgejo::MAX_REPOS_PER_CALL);
}

#[tokio::test]
async fn commits_are_deduplicated_by_sha() {
    let fake = Fake::forgejo().await;
    let mut found = fixture_json("repos-search.json");
    let mut fork = found["data"][0].clone();
    fork["full_name"] = json!("mara/portal-fork");
    fork["fork"] = json!(true);
    fork["updated_at"] = json!("2026-11-22T07:00:00Z");
    found["data"].as_array_mut().unwrap().insert(1, fork);
    fake.route(SEARCH, Reply::json(200, found.to_string()));
    fake.route(
        "/api/v1/repos/mara/portal-fork/commits",
        Reply::fixture(200, "commits-portal.json"),
    );
    let got = fake.client().recent_commits(10).await.unwrap();
    assert_eq!(shas(&got), ["9f2c", "3e8a", "c41d", "b72f", "5ab3"]);
    assert!(got.iter().all(|c| c.repo != "mara/portal-fork"));
}

#[tokio::test]
async fn the_owner_filter_keeps_only_that_owners_repos() {
    let fake = Fake::forgejo().await;
    let client = fake.client();
    let got = client.recent_commits_of("mara", 10).await.unwrap();
    assert_eq!(shas(&got), ["3e8a", "b72f"]);
    assert!(got.iter().all(|c| c.repo == "mara/dotfiles"));
    let search = fake.seen().into_iter().find(|s| s.path == SEARCH).unwrap();
    assert!(search.query.contains("uid=1") && search.query.contains("exclusive=true"));
    assert_eq!((fake.hits("/api/v1/users/mara"), fake.hits(PORTAL)), (1, 0));

    fake.reset();
    client.recent_commits_of("mara", 10).await.unwrap();
    assert_eq!(fake.total(), 1, "the owner's id is looked up once");
}

#[tokio::test]
async fn an_empty_repo_answering_409_is_skipped() {
    let fake = Fake::forgejo().await;
    let mut found = fixture_json("repos-search.json");
    found["data"][2]["empty"] = json!(false);
    fake.route(SEARCH, Reply::json(200, found.to_string()));
    let got = fake.client().recent_commits(10).await.unwrap();
    assert_eq!(got.len(), 5);
    assert_eq!(fake.hits(SCRATCH), 1);
}

#[tokio::test]
async fn a_failing_repo_is_skipped_unless_all_fail() {
    let fake = Fake::forgejo().await;
    fake.route(DOTFILES, Reply::fixture(500, "error-500.json"));
    let got = fake.client().recent_commits(10).await.unwrap();
    assert!(got.iter().all(|c| c.repo == "homelab/portal") && got.len() == 3);

    fake.route(PORTAL, Reply::fixture(404, "error-404-repo.json"));
    let e = fake.client().recent_commits(10).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "the first failure: {e:?}");

    fake.route(SEARCH, Reply::fixture(401, "error-401-invalid-token.json"));
    let e = fake.client().recent_commits(10).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert_eq!(fake.client().recent_commits(0).await.unwrap(), []);
}
