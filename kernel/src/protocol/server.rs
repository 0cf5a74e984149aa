//! Starts a kernel: binds the five Jupyter sockets and wires them to the shell, control and
//! iopub tasks, which hand every request to a [`Backend`].
//!
//! Shell requests are handled one at a time, in arrival order (a reader task queues them so
//! `stop_on_error` can abort what is already waiting). Control runs on its own task so
//! interrupts and shutdowns get through while a cell runs. All iopub traffic goes through
//! one task, which also answers XPUB subscriptions with `iopub_welcome` (JEP 65).

use super::backend::Backend;
use super::content;
use super::control::{run_control, spawn_sigint};
use super::history::InputHistory;
use super::iopub::Iopub;
use super::shell::Shell;
use super::sockets::{bind_router, spawn_reader, start_heartbeat, Replier};
use super::wire::{MessageFactory, Signer};
use jupyter_protocol::{ConnectionInfo, ExecutionState};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;

pub struct ServerConfig {
    pub connection: ConnectionInfo,
    /// Where input history is kept across restarts (None: memory only).
    pub history_path: Option<PathBuf>,
}

/// Serve until a shutdown_request arrives.
pub async fn serve(cfg: ServerConfig, backend: Arc<dyn Backend>) -> anyhow::Result<()> {
    let conn = &cfg.connection;
    if !conn.signature_scheme.is_empty() && conn.signature_scheme != "hmac-sha256" {
        anyhow::bail!(
            "unsupported signature_scheme {:?}: only hmac-sha256 is implemented",
            conn.signature_scheme
        );
    }
    let signer = Signer::new(&conn.key);
    let factory = MessageFactory::new();

    let (shell_tx, shell_rx) = bind_router(conn, conn.shell_port).await?.split();
    let (control_tx, control_rx) = bind_router(conn, conn.control_port).await?.split();
    // stdin is bound so frontends can connect; input() is not offered to cells.
    let _stdin = bind_router(conn, conn.stdin_port).await?;
    let iopub = Iopub::bind(conn, signer.clone(), factory.clone()).await?;
    start_heartbeat(conn).await?;
    iopub.broadcast(content::status(ExecutionState::Starting));
    spawn_sigint(backend.clone())?;

    let (shutdown_tx, mut shutdown_rx) = mpsc::unbounded_channel();
    let control_replier = Replier::new(control_tx, signer.clone(), factory.clone());
    tokio::spawn(run_control(
        spawn_reader(control_rx, signer.clone(), "control"),
        backend.clone(),
        iopub.clone(),
        control_replier,
        shutdown_tx.clone(),
    ));

    let mut shell = Shell::new(
        backend,
        iopub.clone(),
        Replier::new(shell_tx, signer.clone(), factory),
        InputHistory::open(cfg.history_path.clone()),
        shutdown_tx,
    );
    let mut shell_queue = spawn_reader(shell_rx, signer, "shell");
    loop {
        tokio::select! {
            _ = shutdown_rx.recv() => break,
            req = shell_queue.recv() => match req {
                Some(req) => shell.handle(req, &mut shell_queue).await,
                None => break,
            },
        }
    }
    iopub.flush().await;
    Ok(())
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod over_sockets;
