//! Binds the five Jupyter sockets and dispatches requests to a [`Backend`].
//!
//! Shell requests are handled one at a time, in arrival order (a reader task queues them so
//! `stop_on_error` can abort what is already waiting). Control runs on its own task so
//! interrupts and shutdowns get through while a cell runs. All iopub traffic goes through
//! one task, which also answers XPUB subscriptions with `iopub_welcome` (JEP 65).

use super::backend::{Backend, ExecuteRequest, ExecuteStatus, Output, OutputSink};
use super::history::InputHistory;
use super::wire::{self, Message, MessageFactory, Signer};
use anyhow::Context;
use bytes::Bytes;
use jupyter_protocol::ConnectionInfo;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};
use zeromq::{
    RepSocket, RouterRecvHalf, RouterSendHalf, RouterSocket, Socket, SocketRecv, SocketSend,
    XPubSocket, ZmqMessage,
};

pub struct ServerConfig {
    pub connection: ConnectionInfo,
    /// Where input history is kept across restarts (None: memory only).
    pub history_path: Option<PathBuf>,
}

enum IopubCmd {
    Publish(Box<Message>),
    Flush(oneshot::Sender<()>),
}

/// Handle for publishing on iopub from any task.
#[derive(Clone)]
struct Iopub {
    tx: mpsc::UnboundedSender<IopubCmd>,
    factory: MessageFactory,
}

impl Iopub {
    fn publish(&self, msg: Message) {
        let _ = self.tx.send(IopubCmd::Publish(Box::new(msg)));
    }

    fn child(&self, parent: &Message, msg_type: &str, content: Value) {
        self.publish(self.factory.child(parent, msg_type, content));
    }

    fn status(&self, parent: &Message, state: &str) {
        self.child(parent, "status", json!({ "execution_state": state }));
    }

    /// Wait until everything published so far has been written to the socket.
    async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(IopubCmd::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// Replies on a ROUTER socket (shell or control).
#[derive(Clone)]
struct Replier {
    sock: Arc<Mutex<RouterSendHalf>>,
    signer: Signer,
    factory: MessageFactory,
}

impl Replier {
    async fn reply(&self, parent: &Message, msg_type: &str, content: Value) {
        let msg = self.factory.child(parent, msg_type, content);
        let frames = wire::encode(&msg, &self.signer);
        match ZmqMessage::try_from(frames) {
            Ok(zm) => {
                if let Err(e) = self.sock.lock().await.send(zm).await {
                    tracing::warn!("could not send {msg_type}: {e}");
                }
            }
            Err(e) => tracing::warn!("could not frame {msg_type}: {e}"),
        }
    }
}

async fn bind_router(conn: &ConnectionInfo, port: u16) -> anyhow::Result<RouterSocket> {
    let mut sock = RouterSocket::new();
    let ep = format!("{}://{}:{}", conn.transport, conn.ip, port);
    sock.bind(&ep).await.with_context(|| format!("bind {ep}"))?;
    Ok(sock)
}

/// Read, authenticate and queue messages from a ROUTER socket; bad messages are dropped.
fn spawn_reader(
    mut rx: RouterRecvHalf,
    signer: Signer,
    channel: &'static str,
) -> mpsc::UnboundedReceiver<Message> {
    let (tx, out) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(zm) => {
                    let frames: Vec<Bytes> = zm.into_vec();
                    match wire::decode(frames, &signer) {
                        Ok(msg) => {
                            if tx.send(msg).is_err() {
                                return;
                            }
                        }
                        Err(e) => tracing::warn!("{channel}: dropped message: {e}"),
                    }
                }
                Err(zeromq::ZmqError::NoMessage) => return,
                Err(e) => tracing::debug!("{channel}: recv error: {e}"),
            }
        }
    });
    out
}

fn spawn_heartbeat(mut sock: RepSocket) {
    tokio::spawn(async move {
        while let Ok(ping) = sock.recv().await {
            if sock.send(ping).await.is_err() {
                tracing::debug!("heartbeat peer went away");
            }
        }
    });
}

fn spawn_iopub(
    mut sock: XPubSocket,
    signer: Signer,
    factory: MessageFactory,
) -> mpsc::UnboundedSender<IopubCmd> {
    let (tx, mut rx) = mpsc::unbounded_channel::<IopubCmd>();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                sub = sock.recv() => match sub {
                    // XPUB delivers subscriptions as [0x01, topic...]; welcome each one.
                    Ok(m) => {
                        let frame = m.get(0).cloned().unwrap_or_default();
                        if frame.first() == Some(&1) {
                            let topic = String::from_utf8_lossy(&frame[1..]).into_owned();
                            let mut msg = factory.orphan("iopub_welcome", json!({"subscription": topic}));
                            msg.identities = vec![frame.slice(1..)];
                            send_iopub(&mut sock, &msg, &signer).await;
                        }
                    }
                    Err(zeromq::ZmqError::NoMessage) => {}
                    Err(e) => tracing::debug!("iopub: {e}"),
                },
                cmd = rx.recv() => match cmd {
                    Some(IopubCmd::Publish(msg)) => send_iopub(&mut sock, &msg, &signer).await,
                    Some(IopubCmd::Flush(done)) => { let _ = done.send(()); }
                    None => return,
                },
            }
        }
    });
    tx
}

async fn send_iopub(sock: &mut XPubSocket, msg: &Message, signer: &Signer) {
    let mut msg = msg.clone();
    if msg.identities.is_empty() {
        // A topic frame like ipykernel's, so subscribers filtering on prefixes still match.
        let topic = format!("kernel.{}.{}", msg.header.session, msg.header.msg_type);
        msg.identities = vec![Bytes::from(topic)];
    }
    let frames = wire::encode(&msg, signer);
    if let Ok(zm) = ZmqMessage::try_from(frames) {
        if let Err(e) = sock.send(zm).await {
            tracing::warn!("iopub send failed: {e}");
        }
    }
}

/// Shell-side state: counters and history belong to the protocol, not the backend.
struct Shell {
    backend: Arc<dyn Backend>,
    iopub: Iopub,
    replier: Replier,
    execution_count: u32,
    history: InputHistory,
    shutdown: mpsc::UnboundedSender<()>,
}

fn str_field<'a>(content: &'a Value, key: &str) -> &'a str {
    content.get(key).and_then(Value::as_str).unwrap_or("")
}

fn bool_field(content: &Value, key: &str, default: bool) -> bool {
    content.get(key).and_then(Value::as_bool).unwrap_or(default)
}

fn usize_field(content: &Value, key: &str) -> usize {
    content.get(key).and_then(Value::as_u64).unwrap_or(0) as usize
}

fn kernel_info_content(backend: &dyn Backend) -> Value {
    let mut info = backend.kernel_info();
    info["status"] = json!("ok");
    info["protocol_version"] = json!("5.3");
    info
}

/// Reply type for a request type (`foo_request` -> `foo_reply`).
fn reply_type(msg_type: &str) -> String {
    match msg_type.strip_suffix("_request") {
        Some(stem) => format!("{stem}_reply"),
        None => format!("{msg_type}_reply"),
    }
}

impl Shell {
    async fn handle(&mut self, msg: Message, queue: &mut mpsc::UnboundedReceiver<Message>) {
        let msg_type = msg.header.msg_type.clone();
        // Comm messages have no reply and, like ipykernel, we stay quiet about them.
        if msg_type.starts_with("comm_") && msg_type != "comm_info_request" {
            return;
        }
        self.iopub.status(&msg, "busy");
        let to_abort = match msg_type.as_str() {
            "execute_request" => self.execute(&msg, queue).await,
            _ => {
                self.handle_simple(&msg).await;
                vec![]
            }
        };
        self.iopub.status(&msg, "idle");
        for next in to_abort {
            if next.header.msg_type == "execute_request" {
                self.abort(&next).await;
            } else {
                Box::pin(self.handle(next, queue)).await;
            }
        }
    }

    async fn abort(&mut self, msg: &Message) {
        self.iopub.status(msg, "busy");
        let reply = json!({"status": "aborted", "execution_count": self.execution_count});
        self.replier.reply(msg, "execute_reply", reply).await;
        self.iopub.status(msg, "idle");
    }

    /// Everything but execute: answered from the backend or from protocol state.
    async fn handle_simple(&mut self, msg: &Message) {
        let c = &msg.content;
        let msg_type = msg.header.msg_type.as_str();
        let reply = match msg_type {
            "kernel_info_request" => kernel_info_content(self.backend.as_ref()),
            "complete_request" => {
                let code = str_field(c, "code");
                let pos = c
                    .get("cursor_pos")
                    .and_then(Value::as_u64)
                    .map(|p| p as usize)
                    .unwrap_or_else(|| code.chars().count());
                let r = self.backend.complete(code, pos).await;
                json!({"status": "ok", "matches": r.matches, "cursor_start": r.cursor_start,
                       "cursor_end": r.cursor_end, "metadata": {}})
            }
            "inspect_request" => {
                let r = self
                    .backend
                    .inspect(
                        str_field(c, "code"),
                        usize_field(c, "cursor_pos"),
                        usize_field(c, "detail_level") as u8,
                    )
                    .await;
                json!({"status": "ok", "found": r.found, "data": r.data, "metadata": {}})
            }
            "is_complete_request" => {
                let r = self.backend.is_complete(str_field(c, "code")).await;
                let mut v = json!({"status": r.status});
                if r.status == "incomplete" {
                    v["indent"] = json!(r.indent);
                }
                v
            }
            "history_request" => self.history_reply(c),
            "comm_info_request" => json!({"status": "ok", "comms": {}}),
            "shutdown_request" => {
                let restart = bool_field(c, "restart", false);
                self.replier
                    .reply(
                        msg,
                        "shutdown_reply",
                        json!({"status": "ok", "restart": restart}),
                    )
                    .await;
                self.backend.shutdown(restart).await;
                let _ = self.shutdown.send(());
                return;
            }
            other => {
                tracing::warn!("unsupported shell request {other}");
                json!({"status": "error", "ename": "UnsupportedRequest",
                       "evalue": format!("this kernel does not handle {other}"), "traceback": []})
            }
        };
        self.replier.reply(msg, &reply_type(msg_type), reply).await;
    }

    fn history_reply(&self, c: &Value) -> Value {
        let n = usize_field(c, "n");
        let entries = match str_field(c, "hist_access_type") {
            "tail" => self.history.tail(if n == 0 { 10 } else { n }),
            "range" => self.history.range(
                c.get("session").and_then(Value::as_i64).unwrap_or(0),
                usize_field(c, "start") as u32,
                usize_field(c, "stop") as u32,
            ),
            "search" => {
                self.history
                    .search(str_field(c, "pattern"), n, bool_field(c, "unique", false))
            }
            _ => vec![],
        };
        let output = bool_field(c, "output", false);
        let rows: Vec<Value> = entries
            .iter()
            .map(|e| {
                if output {
                    json!([e.session, e.line, [e.input, null]])
                } else {
                    json!([e.session, e.line, e.input])
                }
            })
            .collect();
        json!({"status": "ok", "history": rows})
    }

    /// Run one execute_request. After an error with stop_on_error, returns the requests that
    /// were already queued when it failed (taken before the reply goes out, so a request sent
    /// in reaction to the error reply is never aborted).
    async fn execute(
        &mut self,
        msg: &Message,
        queue: &mut mpsc::UnboundedReceiver<Message>,
    ) -> Vec<Message> {
        let c = &msg.content;
        let code = str_field(c, "code").to_string();
        let silent = bool_field(c, "silent", false);
        let store_history = !silent && bool_field(c, "store_history", true);
        if store_history {
            self.execution_count += 1;
        }
        let count = self.execution_count;
        if !silent {
            self.iopub.child(
                msg,
                "execute_input",
                json!({"code": code, "execution_count": count}),
            );
        }
        let user_expressions = c
            .get("user_expressions")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let sink = self.sink_for(msg, count, silent);
        let req = ExecuteRequest {
            code: code.clone(),
            execution_count: count,
            user_expressions,
        };
        let outcome = self.backend.execute(req, sink).await;
        if store_history {
            self.history.record(count, &code);
        }
        // Outputs must be on the wire before the reply (frontends rely on this order).
        self.iopub.flush().await;
        let (reply, errored): (Value, bool) = match &outcome.status {
            ExecuteStatus::Ok => (
                json!({"status": "ok", "execution_count": count, "payload": outcome.payload,
                       "user_expressions": outcome.user_expressions}),
                false,
            ),
            ExecuteStatus::Error(e) => {
                let mut v = e.to_content();
                v["status"] = json!("error");
                v["execution_count"] = json!(count);
                v["payload"] = json!(outcome.payload);
                v["user_expressions"] = json!(outcome.user_expressions);
                (v, true)
            }
        };
        let mut pending = vec![];
        if errored && bool_field(c, "stop_on_error", true) {
            while let Ok(next) = queue.try_recv() {
                pending.push(next);
            }
        }
        self.replier.reply(msg, "execute_reply", reply).await;
        pending
    }

    fn sink_for(&self, msg: &Message, count: u32, silent: bool) -> OutputSink {
        let iopub = self.iopub.clone();
        let parent = msg.clone();
        OutputSink::new(move |out: Output| {
            if silent && matches!(out, Output::ExecuteResult { .. }) {
                return;
            }
            let content = out.content(count);
            iopub.child(&parent, out.msg_type(), content);
        })
    }
}

async fn run_control(
    mut queue: mpsc::UnboundedReceiver<Message>,
    backend: Arc<dyn Backend>,
    iopub: Iopub,
    replier: Replier,
    shutdown: mpsc::UnboundedSender<()>,
) {
    while let Some(msg) = queue.recv().await {
        let msg_type = msg.header.msg_type.clone();
        iopub.status(&msg, "busy");
        match msg_type.as_str() {
            "kernel_info_request" => {
                let info = kernel_info_content(backend.as_ref());
                replier.reply(&msg, "kernel_info_reply", info).await;
            }
            "interrupt_request" => {
                backend.interrupt();
                replier
                    .reply(&msg, "interrupt_reply", json!({"status": "ok"}))
                    .await;
            }
            "shutdown_request" => {
                // Answer first: the frontend is waiting, and the backend's clean-up (killing the
                // worker, flushing history) may take a moment while the process winds down.
                let restart = bool_field(&msg.content, "restart", false);
                let content = json!({"status": "ok", "restart": restart});
                iopub.child(&msg, "shutdown_reply", content.clone());
                replier.reply(&msg, "shutdown_reply", content).await;
                iopub.status(&msg, "idle");
                iopub.flush().await;
                backend.shutdown(restart).await;
                let _ = shutdown.send(());
                continue;
            }
            other => {
                let content = json!({"status": "error", "ename": "UnsupportedRequest",
                    "evalue": format!("this kernel does not handle {other}"), "traceback": []});
                replier.reply(&msg, &reply_type(other), content).await;
            }
        }
        iopub.status(&msg, "idle");
    }
}

/// Forward SIGINT (interrupt_mode "signal") to the backend instead of dying.
fn spawn_sigint(backend: Arc<dyn Backend>) -> anyhow::Result<()> {
    let mut sig = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    tokio::spawn(async move {
        while sig.recv().await.is_some() {
            tracing::info!("SIGINT: interrupting");
            backend.interrupt();
        }
    });
    Ok(())
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
    let mut iopub_sock = XPubSocket::new();
    let iopub_ep = format!("{}://{}:{}", conn.transport, conn.ip, conn.iopub_port);
    iopub_sock.bind(&iopub_ep).await.context("bind iopub")?;
    let mut hb = RepSocket::new();
    let hb_ep = format!("{}://{}:{}", conn.transport, conn.ip, conn.hb_port);
    hb.bind(&hb_ep).await.context("bind heartbeat")?;
    spawn_heartbeat(hb);

    let iopub = Iopub {
        tx: spawn_iopub(iopub_sock, signer.clone(), factory.clone()),
        factory: factory.clone(),
    };
    iopub.publish(factory.orphan("status", json!({"execution_state": "starting"})));
    spawn_sigint(backend.clone())?;

    let (shutdown_tx, mut shutdown_rx) = mpsc::unbounded_channel();
    let control_replier = Replier {
        sock: Arc::new(Mutex::new(control_tx)),
        signer: signer.clone(),
        factory: factory.clone(),
    };
    tokio::spawn(run_control(
        spawn_reader(control_rx, signer.clone(), "control"),
        backend.clone(),
        iopub.clone(),
        control_replier,
        shutdown_tx.clone(),
    ));

    let mut shell = Shell {
        backend,
        iopub: iopub.clone(),
        replier: Replier {
            sock: Arc::new(Mutex::new(shell_tx)),
            signer: signer.clone(),
            factory,
        },
        execution_count: 0,
        history: InputHistory::open(cfg.history_path.clone()),
        shutdown: shutdown_tx,
    };
    let mut shell_queue = spawn_reader(shell_rx, signer, "shell");
    loop {
        tokio::select! {
            _ = shutdown_rx.recv() => break,
            msg = shell_queue.recv() => match msg {
                Some(msg) => shell.handle(msg, &mut shell_queue).await,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_types() {
        assert_eq!(reply_type("kernel_info_request"), "kernel_info_reply");
        assert_eq!(reply_type("foo"), "foo_reply");
    }

    #[test]
    fn fields_default_sensibly() {
        let c = json!({"code": "x", "silent": true});
        assert_eq!(str_field(&c, "code"), "x");
        assert_eq!(str_field(&c, "missing"), "");
        assert!(bool_field(&c, "silent", false));
        assert!(bool_field(&c, "stop_on_error", true));
    }
}
