//! The ROUTER and heartbeat sockets: binding, reading verified requests, replying.

use super::content::Content;
use super::request::Request;
use super::wire::{self, Message, MessageFactory, Signer};
use anyhow::Context;
use bytes::Bytes;
use jupyter_protocol::ConnectionInfo;
use std::sync::Arc;
use tokio::sync::{mpsc, Mutex};
use zeromq::{
    RepSocket, RouterRecvHalf, RouterSendHalf, RouterSocket, Socket, SocketRecv, SocketSend,
    ZmqMessage,
};

fn endpoint(conn: &ConnectionInfo, port: u16) -> String {
    format!("{}://{}:{}", conn.transport, conn.ip, port)
}

pub async fn bind_router(conn: &ConnectionInfo, port: u16) -> anyhow::Result<RouterSocket> {
    let mut sock = RouterSocket::new();
    let ep = endpoint(conn, port);
    sock.bind(&ep).await.with_context(|| format!("bind {ep}"))?;
    Ok(sock)
}

/// Bind the heartbeat port and echo every ping.
pub async fn start_heartbeat(conn: &ConnectionInfo) -> anyhow::Result<()> {
    let mut sock = RepSocket::new();
    sock.bind(&endpoint(conn, conn.hb_port))
        .await
        .context("bind heartbeat")?;
    tokio::spawn(async move {
        while let Ok(ping) = sock.recv().await {
            if sock.send(ping).await.is_err() {
                tracing::debug!("heartbeat peer went away");
            }
        }
    });
    Ok(())
}

/// Read, authenticate and queue requests from a ROUTER socket; bad messages are dropped.
/// The HMAC is checked over the frames as received (`wire::decode`) before any content is
/// parsed into its typed request.
pub fn spawn_reader(
    mut rx: RouterRecvHalf,
    signer: Signer,
    channel: &'static str,
) -> mpsc::UnboundedReceiver<Request> {
    let (tx, out) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(zm) => {
                    let frames: Vec<Bytes> = zm.into_vec();
                    match wire::decode(frames, &signer) {
                        Ok(msg) => {
                            if tx.send(Request::new(msg)).is_err() {
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

/// Replies on a ROUTER socket (shell or control).
#[derive(Clone)]
pub struct Replier {
    sock: Arc<Mutex<RouterSendHalf>>,
    signer: Signer,
    factory: MessageFactory,
}

impl Replier {
    pub fn new(sock: RouterSendHalf, signer: Signer, factory: MessageFactory) -> Self {
        Self {
            sock: Arc::new(Mutex::new(sock)),
            signer,
            factory,
        }
    }

    pub async fn reply(&self, parent: &Message, content: Content) {
        let msg_type = content.msg_type;
        let msg = self.factory.child(parent, &msg_type, content.json);
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
