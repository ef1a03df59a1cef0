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
        portal::serve_listener(
            portal,
            listener,
            (&config.server).into(),
            &web,
            server::shutdown_signal(),
        )
        .await;
        background.abort();
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
