//! Reads a host from other roots, as a container with the host's `/proc`, `/sys` and `/`
//! mounted read-only does: `Roots::under("/host")` reads `/host/proc`, `/host/sys` and
//! `/host`. Any directory with that layout works, e.g. node_exporter's fixture tree.
//!
//! Run with: `cargo run -p kitestacks-examples --example other_roots -- /host`
//! (or, on the fixture tree: `-- PROCFS SYSFS ROOTFS`)

use std::path::PathBuf;

use kitestacks_metrics::{Filters, Roots, Sampler};

fn main() -> anyhow::Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let roots = match args.as_slice() {
        [dir] => Roots::under(dir),
        [procfs, sysfs, rootfs] => Roots {
            procfs: procfs.clone(),
            sysfs: sysfs.clone(),
            rootfs: rootfs.clone(),
        },
        _ => anyhow::bail!("usage: other_roots DIR  |  other_roots PROCFS SYSFS ROOTFS"),
    };
    println!("reading {roots:?}");
    let sample = Sampler::new(roots, Filters::default()).sample();
    println!("{}", serde_json::to_string_pretty(&sample)?);
    for e in &sample.errors {
        eprintln!("not read: {e}");
    }
    Ok(())
}
