//! `kitestacks-portal`: flags -> configuration -> serve -> exit code.

use std::process::ExitCode;

use clap::Parser;
use kitestacks::portal::cli::{Plan, PortalArgs};
use kitestacks::portal::{self, Portal};
use kitestacks::server;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = PortalArgs::parse();
    let (config, web) = match args.plan() {
        Plan::Exit(code) => return code,
        Plan::Serve(config, web) => (config, web),
    };
    kitestacks::logging::init_portal();
    portal::startup::log(&config, args.config.as_deref());
    let run = async {
        let portal = Portal::new(&config)?.with_access(web.access());
        let (bytes, max_series, per_series) = portal.history_budget();
        tracing::info!(
            "history: at most {max_series} series of {} KiB, {} MiB in all",
            per_series / 1024,
            bytes / (1024 * 1024)
        );
        let background = tokio::spawn(portal.background());
        let listener = server::bind(config.server.listen).await?;
        tracing::info!(
            "kitestacks-portal listening on {}://{}",
            if web.tls_enabled() { "https" } else { "http" },
            listener.local_addr()?
        );
        // Start-up is over (configuration, clients, sockets): its code need not stay
        // resident.
        kitestacks::resident::release_startup_code();
        let stopping = portal.clone();
        let signal = async move {
            server::shutdown_signal().await;
            // Event streams never end by themselves: end them so the drain can.
            stopping.close_streams();
        };
        portal::serve_listener(
            portal.clone(),
            listener,
            (&config.server).into(),
            &web,
            signal,
        )
        .await;
        background.abort();
        portal.save_history();
        anyhow::Ok(())
    };
    match run.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
