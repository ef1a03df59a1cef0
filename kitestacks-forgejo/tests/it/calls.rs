//! The typed calls: version, repository search and its pagination, commits, activity feeds.

use kitestacks_forgejo::{ActivityKind, ErrorKind, Flavor};
use serde_json::json;

use crate::fake::{Fake, Reply, fixture_json};

#[tokio::test]
async fn version_tells_forgejo_from_gitea() {
    let fake = Fake::forgejo().await;
    let v = fake.client().version().await.unwrap();
    assert_eq!(v.flavor, Flavor::Forgejo);
    assert_eq!(v.version, "17.0.1+gitea-1.22.0");
    assert_eq!(v.gitea_compatible(), "1.22.0");

    fake.route("/api/v1/version", Reply::fixture(200, "version-gitea.json"));
    let v = fake.client().version().await.unwrap();
    assert_eq!((v.flavor, v.version.as_str()), (Flavor::Gitea, "1.24.6"));
}

#[tokio::test]
async fn a_base_url_with_a_path_prefix_is_kept() {
    let fake = Fake::start().await;
    fake.route(
        "/forgejo/api/v1/version",
        Reply::fixture(200, "version.json"),
    );
    for base in ["/forgejo", "/forgejo/"] {
        let client = kitestacks_forgejo::Client::builder(format!("{}{base}", fake.url()))
            .build()
            .unwrap();
        assert_eq!(client.version().await.unwrap().flavor, Flavor::Forgejo);
    }
    assert_eq!(fake.hits("/forgejo/api/v1/version"), 2);
}

#[tokio::test]
async fn search_is_sorted_by_update_and_paginates_by_total_count() {
    let fake = Fake::forgejo().await;
    // Page 2 of the fixture's instance: the 2 oldest of its 5 repositories.
    let mut page2 = fixture_json("repos-search.json");
    let data = page2["data"].as_array_mut().unwrap();
    data.truncate(2);
    for (repo, name) in data.iter_mut().zip(["old-notes", "older-notes"]) {
        repo["name"] = json!(name);
        repo["full_name"] = json!(format!("mara/{name}"));
    }
    fake.route_query(
        "/api/v1/repos/search",
        "page=2",
        Reply::json(200, page2.to_string()).total(5),
    );

    let client = fake.client();
    let mut names = Vec::new();
    let mut page = Some(1);
    while let Some(n) = page {
        let p = client.search_repos(n, 3).await.unwrap();
        assert_eq!(p.total, Some(5));
        names.extend(p.items.iter().map(|r| r.full_name.clone()));
        page = p.next_page();
    }
    assert_eq!(
        names,
        [
            "homelab/portal",
            "mara/dotfiles",
            "mara/scratch",
            "mara/old-notes",
            "mara/older-notes"
        ]
    );
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    for (s, page) in seen.iter().zip(["page=1", "page=2"]) {
        for part in ["sort=updated", "order=desc", "limit=3", page] {
            assert!(
                s.query.split('&').any(|p| p == part),
                "{part} in {}",
                s.query
            );
        }
    }
    let first = client.search_repos(1, 3).await.unwrap();
    let scratch = &first.items[2];
    assert!(scratch.empty && scratch.topics.is_empty());
    assert!(first.items[1].private);
    assert_eq!(first.items[0].owner.login, "homelab");
}

#[tokio::test]
async fn commits_are_always_asked_without_stats_files_and_verification() {
    let fake = Fake::forgejo().await;
    let client = fake.client();
    let page = client.commits("homelab", "portal", 1, 3).await.unwrap();
    assert_eq!(page.total, Some(214));
    assert!(page.has_more());
    assert_eq!(page.items.len(), 3);
    assert_eq!(page.items[1].parents.len(), 2, "the merge commit");
    let q = &fake.seen()[0].query;
    for part in [
        "stat=false",
        "verification=false",
        "files=false",
        "limit=3",
        "page=1",
    ] {
        assert!(q.split('&').any(|p| p == part), "{part} in {q}");
    }

    // The full shape (files, stats, verification) parses too; accounts may be null.
    let dotfiles = client.commits("mara", "dotfiles", 1, 2).await.unwrap();
    let second = &dotfiles.items[1];
    assert!(second.author.is_none() && second.committer.is_none());
    assert_eq!(
        second.commit.author.as_ref().unwrap().email,
        "mara@thinkpad.localdomain"
    );
}

#[tokio::test]
async fn an_empty_repository_is_an_empty_page_and_a_missing_one_not_found() {
    let fake = Fake::forgejo().await;
    let client = fake.client();
    let empty = client.commits("mara", "scratch", 1, 10).await.unwrap();
    assert!(empty.items.is_empty() && !empty.has_more());
    let e = client.commits("mara", "nope", 1, 10).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.endpoint(), Some("/api/v1/repos/mara/nope/commits"));
}

#[tokio::test]
async fn feeds_keep_every_kind_and_tolerate_unknown_ones() {
    let fake = Fake::forgejo().await;
    let client = fake.client();
    let feed = client.user_feed("mara", 1, 5).await.unwrap();
    assert_eq!(feed.total, Some(1342));
    let kinds: Vec<ActivityKind> = feed.items.iter().map(|a| a.kind()).collect();
    assert_eq!(
        kinds,
        [
            ActivityKind::CommitRepo,
            ActivityKind::CommitRepo,
            ActivityKind::MergePullRequest,
            ActivityKind::PushTag,
            ActivityKind::CreateRepo,
        ]
    );
    let push = feed.items[0].push().unwrap();
    assert_eq!(push.len, 1);
    assert_eq!(
        push.commits[0].sha,
        "9f2c4e1a7b3d5f60812a4c9e0d7b6a5f3e2c1d08"
    );
    assert!(feed.items[1].is_private);
    assert_eq!(
        feed.items[2].pull_request(),
        Some((14, "Add service health badges"))
    );
    let tag = feed.items[3].push().unwrap();
    assert!(tag.commits.is_empty() && tag.head_commit.is_some());
    assert_eq!(feed.items[3].short_ref(), "v0.4.0");
    assert_eq!(feed.items[4].push(), None);

    // An organisation feed from a newer server: a kind and fields this crate does not know.
    let mut entries = fixture_json("activities-feeds.json");
    entries[0]["op_type"] = json!("teleport_repo");
    entries[0]["sparkles"] = json!({"count": 3});
    entries[1]["repo"] = json!(null);
    fake.route(
        "/api/v1/orgs/homelab/activities/feeds",
        Reply::json(200, entries.to_string()),
    );
    let feed = client.org_feed("homelab", 1, 5).await.unwrap();
    assert_eq!(feed.items[0].kind(), ActivityKind::Unknown);
    assert_eq!(feed.items[0].op_type, "teleport_repo");
    assert!(feed.items[1].repo.is_none());
    assert_eq!(feed.total, None);

    let e = client.user_feed("ghost", 1, 5).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.endpoint(), Some("/api/v1/users/ghost/activities/feeds"));
}
