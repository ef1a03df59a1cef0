//! Prints the homelab's services grouped by category, from the embedded default or a file.
//!
//! Run with: `cargo run -p kitestacks-examples --example services [-- path/to/kitestacks.toml]`

use std::path::PathBuf;

use kitestacks_core::{Category, Config};

fn main() -> anyhow::Result<()> {
    let path = std::env::args_os().nth(1).map(PathBuf::from);
    let config = Config::load_or_default(path.as_deref())?;
    match &config.homelab.base_domain {
        Some(domain) => println!("{} on {domain}", config.homelab.name),
        None => println!("{}", config.homelab.name),
    }
    for category in Category::ALL {
        println!("\n{}", category.title());
        for s in config.registry.in_category(category) {
            let url = s
                .url
                .as_ref()
                .map_or("(internal)".to_owned(), |u| u.to_string());
            println!("  {:<22} {:<42} {}", s.name, url, s.hosts.join(", "));
        }
    }
    Ok(())
}
