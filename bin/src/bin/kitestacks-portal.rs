//! `kitestacks-portal`: flags -> configuration -> serve -> exit code.

use std::process::ExitCode;

use clap::Parser;
use kitestacks::cli::{Plan, PortalArgs, init_logging};
use kitestacks::portal::Portal;
use kitestacks::server;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = match PortalArgs::parse().plan() {
        Plan::Exit(code) => return code,
        Plan::Serve(config) => config,
    };
    init_logging();
    let run = async {
        let portal = Portal::new(&config)?;
        let background = tokio::spawn(portal.background());
        let listener = server::bind(config.server.listen).await?;
        tracing::info!(
            "kitestacks-portal listening on http://{}",
            listener.local_addr()?
        );
        let handler = move |req| {
            let portal = portal.clone();
            async move { portal.handle(req).await }
        };
        server::serve(
            listener,
            (&config.server).into(),
            handler,
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
