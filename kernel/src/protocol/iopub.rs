//! Publishing on iopub: one task owns the XPUB socket, welcomes each subscriber (JEP 65) and
//! sends every message in order; [`Iopub`] is the cloneable handle the other tasks use.

use super::content::{self, Content};
use super::wire::{self, Message, MessageFactory, Signer};
use anyhow::Context;
use bytes::Bytes;
use jupyter_protocol::{ConnectionInfo, ExecutionState};
use tokio::sync::{mpsc, oneshot};
use zeromq::{Socket, SocketRecv, SocketSend, XPubSocket, ZmqMessage};

enum IopubCmd {
    Publish(Box<Message>),
    Flush(oneshot::Sender<()>),
}

/// Handle for publishing on iopub from any task.
#[derive(Clone)]
pub struct Iopub {
    tx: mpsc::UnboundedSender<IopubCmd>,
    factory: MessageFactory,
}

impl Iopub {
    /// Bind the iopub port and start the publishing task.
    pub async fn bind(
        conn: &ConnectionInfo,
        signer: Signer,
        factory: MessageFactory,
    ) -> anyhow::Result<Self> {
        let mut sock = XPubSocket::new();
        let ep = format!("{}://{}:{}", conn.transport, conn.ip, conn.iopub_port);
        sock.bind(&ep).await.context("bind iopub")?;
        Ok(Self {
            tx: spawn_iopub(sock, signer, factory.clone()),
            factory,
        })
    }

    fn publish(&self, msg: Message) {
        let _ = self.tx.send(IopubCmd::Publish(Box::new(msg)));
    }

    /// Publish `content` as a child of `parent`.
    pub fn send(&self, parent: &Message, content: Content) {
        self.publish(self.factory.child(parent, &content.msg_type, content.json));
    }

    /// Publish `content` with no parent (e.g. the `starting` status).
    pub fn broadcast(&self, content: Content) {
        self.publish(self.factory.orphan(&content.msg_type, content.json));
    }

    pub fn status(&self, parent: &Message, state: ExecutionState) {
        self.send(parent, content::status(state));
    }

    /// Wait until everything published so far has been written to the socket.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(IopubCmd::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
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
                            let welcome = content::iopub_welcome(topic);
                            let mut msg = factory.orphan(&welcome.msg_type, welcome.json);
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
