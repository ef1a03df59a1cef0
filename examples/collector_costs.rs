//! Prints what one scrape of each enabled-by-default collector costs on this host (mean
//! over many scrapes), to find where a scrape's time goes.
//!
//! Run with: `cargo run --release -p kitestacks-examples --example collector_costs [-- N]`

use std::time::Instant;

use kitestacks_metrics::collector::{COLLECTORS, CORE_SET, Context, NodeCollector, Options};

fn defaults() -> Vec<&'static str> {
    COLLECTORS
        .iter()
        .filter(|d| d.default_enabled)
        .map(|d| d.name)
        .collect()
}

fn main() -> anyhow::Result<()> {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(2000);
    let mut rows = Vec::new();
    for def in COLLECTORS.iter().filter(|d| d.default_enabled) {
        let mut node = NodeCollector::new(Context::default(), &[def.name], &Options::default())?;
        node.scrape(|_| true);
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(node.scrape(|_| true));
        }
        rows.push((def.name, start.elapsed().as_secs_f64() * 1e6 / f64::from(n)));
    }
    for (label, names) in [("core set", CORE_SET.to_vec()), ("default set", defaults())] {
        let mut node = NodeCollector::new(Context::default(), &names, &Options::default())?;
        let (mut scrape_us, mut render_us) = (0.0, 0.0);
        for _ in 0..n {
            let t = Instant::now();
            let (mut s, _) = node.scrape(|_| true);
            let t2 = Instant::now();
            let mut text = String::with_capacity(64 * 1024);
            s.render(&mut text);
            std::hint::black_box(&text);
            scrape_us += (t2 - t).as_secs_f64() * 1e6;
            render_us += t2.elapsed().as_secs_f64() * 1e6;
        }
        println!(
            "{label}: scrape {:.1} us, render {:.1} us",
            scrape_us / f64::from(n),
            render_us / f64::from(n)
        );
    }
    let mut all = NodeCollector::new(Context::default(), &defaults(), &Options::default())?;
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..n {
        let (mut s, _) = all.scrape(|_| true);
        let mut text = String::with_capacity(64 * 1024);
        s.render(&mut text);
        bytes = text.len();
    }
    let total = start.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (name, us) in &rows {
        println!("{name:<14} {us:>8.1} us");
    }
    println!(
        "{:<14} {:>8.1} us  (all default collectors, scrape + render, {bytes} bytes)",
        "total", total
    );
    Ok(())
}
