//! The `berth` command: `berth serve` (or bare `berth`) runs the local ECS.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use berth::app::App;
use berth::config::Config;

/// Amazon ECS on your machine.
#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the ECS API (the default).
    Serve(Config),
    /// Print a task's awslogs output from a running berth, interleaved by time.
    Logs(berth::tail::LogsArgs),
}

/// `RUST_LOG` (info by default), with bollard held at info unless `RUST_LOG` names it: at debug
/// it logs Docker's request and response bodies, which hold containers' environments (resolved
/// secrets among them) and their output.
fn log_filter() -> EnvFilter {
    let given = std::env::var("RUST_LOG").ok();
    let mut filter =
        given.as_deref().and_then(|g| EnvFilter::try_new(g).ok()).unwrap_or_else(|| EnvFilter::new("info"));
    if !given.is_some_and(|g| g.contains("bollard"))
        && let Ok(quiet) = "bollard=info".parse()
    {
        filter = filter.add_directive(quiet);
    }
    filter
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli.command {
        Some(Command::Serve(config)) => config,
        Some(Command::Logs(args)) => return logs(&args),
        None => cli.serve,
    };
    tracing_subscriber::fmt().with_env_filter(log_filter()).with_writer(std::io::stderr).init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(config))
}

/// `berth logs`: a client of a running berth, on a runtime of its own.
fn logs(args: &berth::tail::LogsArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(berth::tail::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth logs: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    let app = match App::start(&config).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("berth: {e}");
            return ExitCode::FAILURE;
        }
    };
    match app.local_addr() {
        // The one line on stdout: tests and scripts read the bound address from it.
        Ok(addr) => println!("berth listening on http://{addr}"),
        Err(e) => {
            eprintln!("berth: cannot read the bound address: {e}");
            return ExitCode::FAILURE;
        }
    }
    tracing::info!(data_dir = %config.data_dir.display(), region = %config.region, "ready");
    app.run(shutdown_signal()).await;
    ExitCode::SUCCESS
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
