//! "Recent commits across all repositories", cheaply: one repository search sorted by last
//! update, then commit lists of only the few most recently updated repositories, cached per
//! repository by its `updated_at`.
//!
//! Cost of one call: one search (plus, the first time an owner filter is used, one account
//! lookup for its id), then commit lists in waves of
//! [`ClientBuilder::concurrency`](crate::ClientBuilder::concurrency) repositories, at most
//! [`MAX_REPOS_PER_CALL`] in all.
//! A repository whose `updated_at` is what it was at the last call is served from the
//! cache, so a call on an idle forge costs the search alone.
//!
//! Stopping rule: a commit's author date is not later than the push that brought it, and a
//! push updates the repository's `updated_at`. Once `n` commits are collected and the next
//! repository was last updated before the `n`th newest of them, no later repository can
//! contribute, and the walk stops.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::future::join_all;

use crate::client::{Client, MAX_PAGE_SIZE};
use crate::commit::Commit;
use crate::error::Error;
use crate::repository::Repository;
use crate::rfc3339::unix_seconds;

/// Which repositories [`Client::recent_commits_in`] reads. The default: every public
/// repository (see [`Repository::is_public`]) of every owner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scope<'a> {
    /// Only repositories of this user or organisation.
    pub owner: Option<&'a str>,
    /// Also repositories the public cannot see, when the token can: private and internal
    /// ones, and those of a `limited` or `private` owner.
    pub include_private: bool,
}

/// The most commit lists one [`Client::recent_commits`] call fetches.
pub const MAX_REPOS_PER_CALL: usize = 16;

/// Past this many cached repositories, a call forgets those it did not see.
const CACHE_SOFT_LIMIT: usize = 256;

/// The per-client cache of [`Client::recent_commits`].
#[derive(Debug, Default)]
pub(crate) struct RecentCache {
    repos: HashMap<String, CachedRepo>,
    owner_ids: HashMap<String, i64>,
}

#[derive(Debug)]
struct CachedRepo {
    updated_at: String,
    /// The `limit` the list was fetched with.
    limit: u32,
    /// Newest first, at most `limit`; fewer means the repository has no more.
    commits: Arc<[Commit]>,
}

impl CachedRepo {
    fn serves(&self, updated_at: &str, want: u32) -> bool {
        !updated_at.is_empty()
            && self.updated_at == updated_at
            && (self.limit >= want || self.commits.len() < self.limit as usize)
    }
}

impl Client {
    /// The `n` newest commits (at most 50) across all repositories the token can see,
    /// newest first by author date, de-duplicated by SHA. Empty repositories are skipped.
    ///
    /// Cost: one search sorted by last update (plus, the first time an owner filter is
    /// used, one account lookup), then commit lists of the most recently updated non-empty
    /// repositories, [`ClientBuilder::concurrency`](crate::ClientBuilder::concurrency) at a
    /// time, only until no older repository can hold a newer commit, and at most
    /// [`MAX_REPOS_PER_CALL`]. A repository whose `updated_at` has not changed since an
    /// earlier call is served from the client's cache: on an idle forge a call costs the
    /// search alone.
    ///
    /// A repository whose commit list fails (deleted since the search, a broken
    /// repository) is logged and skipped; the call fails only if the search fails or
    /// every repository it asked about failed.
    pub async fn recent_commits(&self, n: usize) -> Result<Vec<Commit>, Error> {
        self.recent(n, None, true).await
    }

    /// Like [`Client::recent_commits`], only repositories owned by the user or
    /// organisation `owner`.
    pub async fn recent_commits_of(&self, owner: &str, n: usize) -> Result<Vec<Commit>, Error> {
        self.recent(n, Some(owner), true).await
    }

    /// Like [`Client::recent_commits`], only repositories in `scope`: by default the public
    /// ones, so a page anyone can read never shows a commit of a repository the token
    /// sees but the public does not. Repositories out of scope cost no request.
    pub async fn recent_commits_in(
        &self,
        scope: Scope<'_>,
        n: usize,
    ) -> Result<Vec<Commit>, Error> {
        self.recent(n, scope.owner, scope.include_private).await
    }

    async fn recent(
        &self,
        n: usize,
        owner: Option<&str>,
        include_private: bool,
    ) -> Result<Vec<Commit>, Error> {
        let n = n.min(MAX_PAGE_SIZE as usize);
        if n == 0 {
            return Ok(Vec::new());
        }
        let owner_id = match owner {
            Some(owner) => Some(self.owner_id(owner).await?),
            None => None,
        };
        let found = self.search(1, MAX_PAGE_SIZE, owner_id).await?;
        let candidates: Vec<Repository> = found
            .items
            .into_iter()
            .filter(|r| !r.empty && r.full_name.contains('/'))
            .filter(|r| owner.is_none_or(|o| owned_by(r, o)))
            .filter(|r| include_private || r.is_public())
            .take(MAX_REPOS_PER_CALL)
            .collect();

        let want = n as u32;
        let mut collected: Vec<Commit> = Vec::new();
        let mut shas: HashSet<String> = HashSet::new();
        let mut first_error = None;
        let mut any_ok = false;
        let wave_size = self.inner.concurrency;
        for (i, wave) in candidates.chunks(wave_size).enumerate() {
            let lists = join_all(wave.iter().map(|r| self.repo_commits(r, want))).await;
            for (repo, list) in wave.iter().zip(lists) {
                match list {
                    Ok(commits) => {
                        any_ok = true;
                        for c in commits.iter().take(n) {
                            if shas.insert(c.sha.clone()) {
                                collected.push(c.clone());
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(repo = %repo.full_name, error = %e, "skipping repository");
                        first_error.get_or_insert(e);
                    }
                }
            }
            sort_newest_first(&mut collected);
            if enough(&collected, n, candidates.get((i + 1) * wave_size)) {
                break;
            }
        }
        if let (false, Some(e)) = (any_ok, first_error) {
            return Err(e);
        }
        collected.truncate(n);

        let mut cache = self.cache();
        if cache.repos.len() > CACHE_SOFT_LIMIT {
            let seen: HashSet<&str> = candidates.iter().map(|r| r.full_name.as_str()).collect();
            cache.repos.retain(|name, _| seen.contains(name.as_str()));
        }
        Ok(collected)
    }

    /// The newest `want` commits of `repo`, from the cache when its `updated_at` is unchanged.
    async fn repo_commits(&self, repo: &Repository, want: u32) -> Result<Arc<[Commit]>, Error> {
        if let Some(hit) = self.cache().repos.get(&repo.full_name)
            && hit.serves(&repo.updated_at, want)
        {
            return Ok(hit.commits.clone());
        }
        let (owner, name) = repo.full_name.split_once('/').unwrap_or(("", ""));
        let page = self.commits(owner, name, 1, want).await?;
        let commits: Arc<[Commit]> = page
            .items
            .iter()
            .take(want as usize)
            .map(|c| Commit::from_upstream(&repo.full_name, c))
            .collect();
        self.cache().repos.insert(
            repo.full_name.clone(),
            CachedRepo {
                updated_at: repo.updated_at.clone(),
                limit: want,
                commits: commits.clone(),
            },
        );
        Ok(commits)
    }

    /// The account id of `owner`, looked up once per client.
    async fn owner_id(&self, owner: &str) -> Result<i64, Error> {
        let key = owner.to_ascii_lowercase();
        if let Some(id) = self.cache().owner_ids.get(&key) {
            return Ok(*id);
        }
        let id = self.user(owner).await?.id;
        self.cache().owner_ids.insert(key, id);
        Ok(id)
    }
}

fn owned_by(repo: &Repository, owner: &str) -> bool {
    repo.owner.login.eq_ignore_ascii_case(owner)
        || repo
            .full_name
            .split_once('/')
            .is_some_and(|(o, _)| o.eq_ignore_ascii_case(owner))
}

/// Newest first by author date; unparseable dates last; ties keep their order.
fn sort_newest_first(commits: &mut [Commit]) {
    commits.sort_by_key(|c| std::cmp::Reverse(unix_seconds(&c.date).unwrap_or(i64::MIN)));
}

/// True when `collected` (sorted) holds `n` commits that no repository from `next` on can
/// beat: `next` was last updated before the `n`th newest commit.
fn enough(collected: &[Commit], n: usize, next: Option<&Repository>) -> bool {
    let Some(next) = next else { return true };
    let Some(nth) = collected.get(n - 1) else {
        return false;
    };
    match (unix_seconds(&nth.date), unix_seconds(&next.updated_at)) {
        (Some(nth), Some(updated)) => updated < nth,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(sha: &str, date: &str) -> Commit {
        Commit {
            repo: "a/b".into(),
            sha: sha.into(),
            short_sha: sha.into(),
            title: String::new(),
            author: String::new(),
            date: date.into(),
            html_url: String::new(),
        }
    }

    fn repo(updated_at: &str) -> Repository {
        Repository {
            full_name: "a/c".into(),
            updated_at: updated_at.into(),
            ..Repository::default()
        }
    }

    #[test]
    fn sorting_compares_instants_not_text() {
        let mut c = vec![
            commit("1", "2026-11-21T20:17:30+01:00"),
            commit("2", "garbage"),
            commit("3", "2026-11-21T19:30:00Z"),
        ];
        sort_newest_first(&mut c);
        let order: Vec<&str> = c.iter().map(|c| c.sha.as_str()).collect();
        assert_eq!(order, ["3", "1", "2"]);
    }

    #[test]
    fn stopping_rule() {
        let c = [
            commit("1", "2026-11-22T08:00:00+01:00"),
            commit("2", "2026-11-21T12:00:00Z"),
        ];
        assert!(enough(&c, 2, None));
        assert!(enough(&c, 2, Some(&repo("2026-11-21T11:59:59Z"))));
        assert!(!enough(&c, 2, Some(&repo("2026-11-21T12:00:01Z"))));
        assert!(!enough(&c, 3, Some(&repo("2020-01-01T00:00:00Z"))));
        assert!(!enough(&c, 2, Some(&repo(""))));
    }

    #[test]
    fn cache_entries_serve_only_unchanged_repos_with_enough_commits() {
        let entry = CachedRepo {
            updated_at: "t1".into(),
            limit: 5,
            commits: Arc::from(vec![commit("1", ""), commit("2", "")]),
        };
        assert!(entry.serves("t1", 10), "a short list is the whole history");
        assert!(!entry.serves("t2", 1));
        assert!(!entry.serves("", 1));
        let full = CachedRepo { limit: 2, ..entry };
        assert!(full.serves("t1", 2));
        assert!(!full.serves("t1", 3));
    }

    #[test]
    fn owner_filter_matches_login_or_full_name() {
        let mut r = repo("");
        r.full_name = "Homelab/portal".into();
        assert!(owned_by(&r, "homelab"));
        assert!(!owned_by(&r, "mara"));
    }
}
