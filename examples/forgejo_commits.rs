//! Prints the latest commits across the repositories of a Forgejo (or Gitea) instance.
//!
//! Run with: cargo run -p kitestacks-examples --example forgejo_commits -- https://git.example.com 10
//!
//! The token comes from the environment variable `KITESTACKS_FORGEJO_TOKEN` (a token with
//! `read:repository`; without one, only public repositories are seen). A third argument
//! keeps only the repositories of one owner: `-- https://git.example.com 10 homelab`.

use anyhow::Context;
use kitestacks_core::Secret;
use kitestacks_forgejo::Client;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .context("usage: forgejo_commits URL [COUNT] [OWNER]")?;
    let count: usize = match args.next() {
        Some(n) => n
            .parse()
            .with_context(|| format!("COUNT {n:?} is not a number"))?,
        None => 10,
    };
    let owner = args.next();

    let mut builder = Client::builder(url);
    if let Ok(token) = std::env::var("KITESTACKS_FORGEJO_TOKEN") {
        builder = builder.token(Secret::new(token));
    }
    let client = builder.build()?;

    let version = client.version().await?;
    println!("{} {:?}", version.version, version.flavor);
    let commits = match &owner {
        Some(owner) => client.recent_commits_of(owner, count).await?,
        None => client.recent_commits(count).await?,
    };
    for c in commits {
        println!(
            "{}  {}  {:<28} {} ({})",
            c.date, c.short_sha, c.repo, c.title, c.author
        );
    }
    Ok(())
}
