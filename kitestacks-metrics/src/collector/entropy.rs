//! The `entropy` collector: available entropy and pool size from
//! `/proc/sys/kernel/random/`.

use crate::collector::{Collector, Context, Definition, Options, attr};
use crate::error::Error;
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "entropy",
    default_enabled: true,
    families: &["node_entropy_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Entropy {
        available: None,
        pool_size: None,
    }))
}

struct Entropy {
    available: Option<TextFile>,
    pool_size: Option<TextFile>,
}

impl Collector for Entropy {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let available = self
            .available
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("sys/kernel/random/entropy_avail")))
            .parse(|t| attr::parse_u64(t.trim()))?;
        let pool_size = self
            .pool_size
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("sys/kernel/random/poolsize")))
            .parse(|t| attr::parse_u64(t.trim()))?;
        out.gauge(
            "node_entropy_available_bits",
            "Bits of available entropy.",
            &[],
            available as f64,
        );
        out.gauge(
            "node_entropy_pool_size_bits",
            "Bits of entropy pool.",
            &[],
            pool_size as f64,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    #[test]
    fn both_values_are_required() {
        let dir = tempfile::tempdir().unwrap();
        let random = dir.path().join("proc/sys/kernel/random");
        std::fs::create_dir_all(&random).unwrap();
        let ctx = testing::context(dir.path());
        let mut c = build(&Options::default()).unwrap();
        std::fs::write(random.join("entropy_avail"), "256\n").unwrap();
        assert!(
            c.update(&ctx, &mut Scrape::new())
                .unwrap_err()
                .is_not_found()
        );
        std::fs::write(random.join("poolsize"), "x\n").unwrap();
        let err = c.update(&ctx, &mut Scrape::new()).unwrap_err();
        assert!(matches!(err, Error::Parse { line: 1, .. }), "{err}");
        std::fs::write(random.join("poolsize"), "256\n").unwrap();
        let s = testing::text(&mut *c, &ctx).unwrap();
        assert!(s.contains("node_entropy_available_bits 256\n"), "{s}");
        assert!(s.contains("node_entropy_pool_size_bits 256\n"), "{s}");
    }
}
