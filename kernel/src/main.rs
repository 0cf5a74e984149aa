//! `llm-analytics-kernel`: a Jupyter kernel where a cell is a plain-English question about a
//! loaded CSV. See ARCHITECTURE.md for how the pieces fit.

mod alloc;
mod analysis;
mod install;
mod limits;
mod protocol;
mod worker;

use clap::{Parser, Subcommand};

use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    /// Connection file written by the Jupyter frontend.
    #[arg(short = 'f', long = "connection-file")]
    connection_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Install the kernelspec (default: for the current user).
    Install {
        #[arg(long, conflicts_with_all = ["sys_prefix", "prefix"])]
        user: bool,
        /// Install into the current Python environment (sys.prefix / $VIRTUAL_ENV).
        #[arg(long)]
        sys_prefix: bool,
        #[arg(long)]
        prefix: Option<PathBuf>,
    },
    /// Internal: run the embedded-Python worker (started by the kernel).
    #[command(hide = true)]
    Worker {
        /// Run one question's model-written code, then be killed (see analysis/worker_client/).
        #[arg(long)]
        question: bool,
        /// Hold the Spark Connect session (runs no generated code; see worker/spark/).
        #[arg(long, conflicts_with = "question")]
        spark: bool,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LLM_ANALYTICS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn sys_prefix() -> anyhow::Result<PathBuf> {
    if let Ok(venv) = std::env::var("VIRTUAL_ENV") {
        return Ok(PathBuf::from(venv));
    }
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.prefix)"])
        .output()?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn run_kernel(connection_file: PathBuf) -> anyhow::Result<()> {
    let raw = std::fs::read_to_string(&connection_file)?;
    let connection: jupyter_protocol::ConnectionInfo = serde_json::from_str(&raw)?;
    let settings = analysis::settings::Settings::from_env();
    let history_path = std::fs::create_dir_all(&settings.data_dir)
        .ok()
        .map(|_| settings.data_dir.join("input_history.jsonl"));
    let exe = std::env::current_exe()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let engine = Arc::new(analysis::engine::Engine::new(settings, exe)?);
        let cfg = protocol::server::ServerConfig {
            connection,
            history_path,
        };
        protocol::server::serve(cfg, engine.clone()).await?;
        engine.kill_workers_now();
        Ok::<(), anyhow::Error>(())
    })?;
    // Background tasks may still hold sockets; the kernel's job is done.
    std::process::exit(0);
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Worker { question, spark }) => worker::run(match (question, spark) {
            (_, true) => worker::Mode::Spark,
            (true, _) => worker::Mode::Question,
            _ => worker::Mode::User,
        }),
        Some(Command::Install {
            sys_prefix: sp,
            prefix,
            ..
        }) => {
            let target = match (sp, prefix) {
                (_, Some(p)) => install::Target::Prefix(p),
                (true, None) => install::Target::Prefix(sys_prefix()?),
                (false, None) => install::Target::User,
            };
            let dir = install::install(target)?;
            println!("Installed kernelspec llm-analytics in {}", dir.display());
            Ok(())
        }
        None => {
            init_logging();
            // Defense in depth for the sandboxed worker (same user): a non-dumpable process's
            // /proc files (environ with the API key, mem, fd/ with the HMAC-keyed sockets) are
            // closed to other processes without CAP_SYS_PTRACE. Reset by exec, so the worker
            // is unaffected.
            // SAFETY: prctl with constant arguments.
            unsafe {
                libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
            }
            match cli.connection_file {
                Some(f) => run_kernel(f),
                None => {
                    eprintln!("usage: llm-analytics-kernel -f CONNECTION_FILE | install [--user|--sys-prefix|--prefix P]");
                    std::process::exit(2);
                }
            }
        }
    }
}
