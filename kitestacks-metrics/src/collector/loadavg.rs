//! The `loadavg` collector: `node_load1`, `node_load5`, `node_load15` from `/proc/loadavg`.

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::exposition::Scrape;
use crate::loadavg;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "loadavg",
    default_enabled: true,
    families: &["node_load"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(LoadAvg { file: None }))
}

struct LoadAvg {
    file: Option<TextFile>,
}

impl Collector for LoadAvg {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let file = self
            .file
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("loadavg")));
        let l = file.parse(loadavg::parse)?;
        out.gauge("node_load1", "1m load average.", &[], l.load1);
        out.gauge("node_load5", "5m load average.", &[], l.load5);
        out.gauge("node_load15", "15m load average.", &[], l.load15);
        Ok(())
    }
}
