//! `kitestacks-exporter`: flags -> collectors -> serve on every listen address -> exit code.

use std::process::ExitCode;

use kitestacks::exporter::Exporter;
use kitestacks::exporter::cli::ExporterArgs;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match ExporterArgs::parse_from(std::env::args().collect()) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    kitestacks::logging::init_exporter(&args.log_level, &args.log_format);
    // An invalid web config never starts the exporter open: exit 2.
    let web = match &args.web_config_file {
        None => kitestacks::webconfig::WebConfig::default(),
        Some(path) => match kitestacks::webconfig::WebConfig::load(path) {
            Ok(w) => w,
            Err(e) => {
                tracing::error!("{e}");
                return ExitCode::from(2);
            }
        },
    };
    kitestacks::exporter::log_startup(&args, &web);
    let exporter = match Exporter::new(&args) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("{e:#}");
            return ExitCode::from(2);
        }
    };
    tracing::info!(
        collectors = exporter.collectors().join(",").as_str(),
        "enabled collectors"
    );
    match kitestacks::exporter::serve(exporter, &args.listen, &web).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
