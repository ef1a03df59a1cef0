//! Command-line flags of `kitestacks-portal` and what each mode does before serving.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use kitestacks_core::{Config, DEFAULT_CONFIG_TOML};

use crate::webconfig::WebConfig;

/// `kitestacks-portal`: the homelab portal API.
#[derive(Debug, clap::Parser)]
#[command(
    name = "kitestacks-portal",
    version,
    about = "The kitestacks portal API: service list, health, OpenAPI docs"
)]
pub struct PortalArgs {
    /// Configuration file (TOML). Without it the embedded default is used: the
    /// homelab's registry as a demo that contacts nobody (probes, Forgejo and weather
    /// off until a file turns them on).
    #[arg(long, env = "KITESTACKS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Validate the configuration and exit: 0 with a summary (its source, the listen
    /// address in effect, what the portal will contact and how often), or 2 with every
    /// problem found.
    #[arg(long)]
    pub check_config: bool,
    /// Print the embedded default configuration and exit.
    #[arg(long, conflicts_with = "check_config")]
    pub print_default_config: bool,
    /// Listen address, overriding `[server] listen`: `127.0.0.1:8000`, `:8000` (every
    /// interface), `[::1]:8000`, `localhost:8000` (the exporter's forms too).
    #[arg(long, value_name = "IP:PORT", value_parser = kitestacks_core::parse_listen_address)]
    pub listen: Option<SocketAddr>,
}

/// What `main` should do after the flags.
pub enum Plan {
    /// Exit now with this code (a mode that only prints).
    Exit(ExitCode),
    /// Serve with this configuration and the web config it names (TLS, basic auth).
    Serve(Box<Config>, WebConfig),
}

/// Exit code for a bad configuration (as for bad flags).
pub const EXIT_CONFIG: u8 = 2;

impl PortalArgs {
    /// Handles the print/check modes and loads the configuration.
    pub fn plan(&self) -> Plan {
        if self.print_default_config {
            print!("{DEFAULT_CONFIG_TOML}");
            return Plan::Exit(ExitCode::SUCCESS);
        }
        let mut config = match Config::load_or_default(self.config.as_deref()) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("kitestacks-portal: invalid configuration: {e}");
                return Plan::Exit(ExitCode::from(EXIT_CONFIG));
            }
        };
        let web = match &config.server.web_config {
            None => WebConfig::default(),
            Some(path) => match WebConfig::load(path) {
                Ok(web) => web,
                Err(e) => {
                    eprintln!("kitestacks-portal: invalid configuration: server.web_config: {e}");
                    return Plan::Exit(ExitCode::from(EXIT_CONFIG));
                }
            },
        };
        // Before the summary: `--check-config` shows the address that would be used.
        if let Some(addr) = self.listen {
            config.server.listen = addr;
        }
        if self.check_config {
            println!("{}", config.summary());
            return Plan::Exit(ExitCode::SUCCESS);
        }
        Plan::Serve(Box::new(config), web)
    }
}
