//! The control channel on its own task, so interrupts and shutdowns get through while a cell
//! runs; SIGINT (interrupt_mode "signal") is forwarded to the backend the same way.

use super::backend::Backend;
use super::content;
use super::iopub::Iopub;
use super::request::Request;
use super::sockets::Replier;
use jupyter_protocol::{ExecutionState, JupyterMessageContent as Typed};
use std::sync::Arc;
use tokio::sync::mpsc;

pub async fn run_control(
    mut queue: mpsc::UnboundedReceiver<Request>,
    backend: Arc<dyn Backend>,
    iopub: Iopub,
    replier: Replier,
    shutdown: mpsc::UnboundedSender<()>,
) {
    while let Some(req) = queue.recv().await {
        let msg = &req.msg;
        iopub.status(msg, ExecutionState::Busy);
        match &req.content {
            Typed::KernelInfoRequest(_) => {
                let info = content::kernel_info_reply(backend.kernel_info());
                replier.reply(msg, info).await;
            }
            Typed::InterruptRequest(_) => {
                backend.interrupt();
                replier.reply(msg, content::interrupt_reply()).await;
            }
            Typed::ShutdownRequest(r) => {
                // Answer first: the frontend is waiting, and the backend's clean-up (killing the
                // worker, flushing history) may take a moment while the process winds down.
                let reply = content::shutdown_reply(r.restart);
                iopub.send(msg, reply.clone());
                replier.reply(msg, reply).await;
                iopub.status(msg, ExecutionState::Idle);
                iopub.flush().await;
                backend.shutdown(r.restart).await;
                let _ = shutdown.send(());
                continue;
            }
            _ => {
                replier
                    .reply(msg, content::unsupported(req.msg_type()))
                    .await
            }
        }
        iopub.status(msg, ExecutionState::Idle);
    }
}

/// Forward SIGINT (interrupt_mode "signal") to the backend instead of dying.
pub fn spawn_sigint(backend: Arc<dyn Backend>) -> anyhow::Result<()> {
    let mut sig = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    tokio::spawn(async move {
        while sig.recv().await.is_some() {
            tracing::info!("SIGINT: interrupting");
            backend.interrupt();
        }
    });
    Ok(())
}
