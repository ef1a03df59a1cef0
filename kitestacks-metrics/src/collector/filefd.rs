//! The `filefd` collector: allocated and maximum file handles from
//! `/proc/sys/fs/file-nr`.

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "filefd",
    default_enabled: true,
    families: &["node_filefd_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(FileFd { file: None }))
}

struct FileFd {
    file: Option<TextFile>,
}

impl Collector for FileFd {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let (allocated, maximum) = self
            .file
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("sys/fs/file-nr")))
            .parse(parse)?;
        out.gauge(
            "node_filefd_allocated",
            "File descriptor statistics: allocated.",
            &[],
            allocated,
        );
        out.gauge(
            "node_filefd_maximum",
            "File descriptor statistics: maximum.",
            &[],
            maximum,
        );
        Ok(())
    }
}

/// Parses `file-nr`: allocated, free (always 0 since Linux 2.6) and maximum handles,
/// tab-separated.
fn parse(text: &str) -> Result<(f64, f64), ParseError> {
    let text = text.trim();
    let mut parts = text.split('\t');
    let (Some(allocated), Some(_free), Some(maximum)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::new(
            1,
            format!("expected three tab-separated numbers, got {text:?}"),
        ));
    };
    let number = |what: &str, raw: &str| {
        raw.parse::<f64>()
            .map_err(|_| ParseError::new(1, format!("field {what}: {raw:?} is not a number")))
    };
    Ok((number("allocated", allocated)?, number("maximum", maximum)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocated_and_maximum() {
        assert_eq!(parse("1024\t0\t1631329\n").unwrap(), (1024.0, 1_631_329.0));
    }

    #[test]
    fn malformed_and_truncated_input_is_an_error() {
        assert!(parse("1024\t0\n").unwrap_err().message.contains("three"));
        assert!(parse("1024 0 1631329\n").is_err());
        assert!(
            parse("x\t0\t1\n")
                .unwrap_err()
                .message
                .contains("allocated")
        );
        assert!(parse("").is_err());
    }
}
