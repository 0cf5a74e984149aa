//! The protocol layer alone, over real ZeroMQ sockets: a dummy backend (echoes the code as a
//! stream, fails on "fail...") and a client made of this crate's own codec.

use super::*;
use crate::protocol::backend::{
    Completion, ErrorInfo, ExecuteOutcome, ExecuteRequest, Inspection, IsComplete, OutputSink,
};
use crate::protocol::wire::{decode, encode, Message};
use serde_json::{json, Value};
use zeromq::{DealerSocket, Socket, SocketRecv, SocketSend, SubSocket, ZmqMessage};

struct Echo;

#[async_trait::async_trait]
impl Backend for Echo {
    fn kernel_info(&self) -> Value {
        json!({"implementation": "echo", "language_info": {"name": "echo"}})
    }
    async fn execute(&self, req: ExecuteRequest, sink: OutputSink) -> ExecuteOutcome {
        if req.code == "fail slowly" {
            // Long enough for the next request to be queued behind it.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        if req.code.starts_with("fail") {
            let e = ErrorInfo::new("EchoError", "asked to fail");
            sink.error(e.clone());
            return ExecuteOutcome::error(e);
        }
        sink.stream("stdout", req.code);
        ExecuteOutcome::ok()
    }
    async fn complete(&self, _code: &str, cursor_pos: usize) -> Completion {
        Completion {
            cursor_start: cursor_pos,
            cursor_end: cursor_pos,
            ..Default::default()
        }
    }
    async fn inspect(&self, _code: &str, _pos: usize, _detail: u8) -> Inspection {
        Inspection::default()
    }
    async fn is_complete(&self, _code: &str) -> IsComplete {
        IsComplete {
            status: "complete".into(),
            indent: String::new(),
        }
    }
    fn interrupt(&self) {}
    async fn shutdown(&self, _restart: bool) {}
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Client {
    shell: DealerSocket,
    iopub: SubSocket,
    signer: Signer,
    factory: MessageFactory,
}

impl Client {
    async fn request(&mut self, msg_type: &str, content: Value, signer: &Signer) -> String {
        let msg = self.factory.orphan(msg_type, content);
        let id = msg.header.msg_id.clone();
        let frames = encode(&msg, signer);
        self.shell
            .send(ZmqMessage::try_from(frames).unwrap())
            .await
            .unwrap();
        id
    }

    async fn execute(&mut self, code: &str) -> String {
        let content = json!({"code": code, "silent": false, "store_history": true,
                             "user_expressions": {}, "allow_stdin": false, "stop_on_error": true});
        let signer = self.signer.clone();
        self.request("execute_request", content, &signer).await
    }

    async fn shell_reply(&mut self) -> Message {
        let zm = tokio::time::timeout(std::time::Duration::from_secs(10), self.shell.recv())
            .await
            .expect("a shell reply in time")
            .unwrap();
        decode(zm.into_vec(), &self.signer).expect("a signed reply")
    }

    /// iopub messages for `parent` up to its `idle` status.
    async fn iopub_until_idle(&mut self, parent: &str) -> Vec<Message> {
        let mut got = vec![];
        loop {
            let zm = tokio::time::timeout(std::time::Duration::from_secs(10), self.iopub.recv())
                .await
                .expect("iopub in time")
                .unwrap();
            let msg = decode(zm.into_vec(), &self.signer).expect("signed iopub");
            if msg.parent_header["msg_id"] != parent {
                continue;
            }
            let idle = msg.header.msg_type == "status" && msg.content["execution_state"] == "idle";
            got.push(msg);
            if idle {
                return got;
            }
        }
    }
}

async fn start() -> Client {
    let key = "a-test-key";
    let connection: ConnectionInfo = serde_json::from_value(json!({
        "ip": "127.0.0.1", "transport": "tcp", "signature_scheme": "hmac-sha256", "key": key,
        "shell_port": free_port(), "iopub_port": free_port(), "stdin_port": free_port(),
        "control_port": free_port(), "hb_port": free_port(), "kernel_name": "echo",
    }))
    .unwrap();
    let (shell_port, iopub_port) = (connection.shell_port, connection.iopub_port);
    let cfg = ServerConfig {
        connection,
        history_path: None,
    };
    tokio::spawn(async move { serve(cfg, Arc::new(Echo)).await });
    let mut shell = DealerSocket::new();
    let mut iopub = SubSocket::new();
    for _ in 0..100 {
        if shell
            .connect(&format!("tcp://127.0.0.1:{shell_port}"))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    iopub
        .connect(&format!("tcp://127.0.0.1:{iopub_port}"))
        .await
        .unwrap();
    iopub.subscribe("").await.unwrap();
    // The subscription must reach the XPUB socket before anything is published.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    Client {
        shell,
        iopub,
        signer: Signer::new(key),
        factory: MessageFactory::new(),
    }
}

#[tokio::test]
async fn a_cell_runs_in_protocol_order_and_bad_signatures_are_dropped() {
    let mut c = start().await;
    let signer = c.signer.clone();

    // A request signed with another key is dropped: no reply, and the next one still works.
    let forged = Signer::new("not-the-key");
    c.request("kernel_info_request", json!({}), &forged).await;
    let id = c.request("kernel_info_request", json!({}), &signer).await;
    let reply = c.shell_reply().await;
    assert_eq!(reply.parent_header["msg_id"], id.as_str());
    assert_eq!(reply.header.msg_type, "kernel_info_reply");
    assert_eq!(reply.content["implementation"], "echo");

    let id = c.execute("hello").await;
    let reply = c.shell_reply().await;
    assert_eq!(reply.content["status"], "ok");
    assert_eq!(reply.content["execution_count"], 1);
    let iopub = c.iopub_until_idle(&id).await;
    let kinds: Vec<&str> = iopub.iter().map(|m| m.header.msg_type.as_str()).collect();
    assert_eq!(kinds, ["status", "execute_input", "stream", "status"]);
    assert_eq!(iopub[0].content["execution_state"], "busy");
    assert_eq!(iopub[2].content["text"], "hello");

    let id = c.execute("fail").await;
    let reply = c.shell_reply().await;
    assert_eq!(reply.content["status"], "error");
    assert_eq!(reply.content["ename"], "EchoError");
    let kinds: Vec<String> = c
        .iopub_until_idle(&id)
        .await
        .iter()
        .map(|m| m.header.msg_type.clone())
        .collect();
    assert_eq!(kinds, ["status", "execute_input", "error", "status"]);
}

#[tokio::test]
async fn typed_dispatch_keeps_the_replies_clients_saw() {
    let mut c = start().await;
    let signer = c.signer.clone();

    // Comm messages get no reply; an unknown type gets the error reply, as before.
    c.request("comm_msg", json!({"comm_id": "x", "data": {}}), &signer)
        .await;
    let id = c
        .request("frobnicate_request", json!({"x": 1}), &signer)
        .await;
    let reply = c.shell_reply().await;
    assert_eq!(reply.parent_header["msg_id"], id.as_str());
    assert_eq!(reply.header.msg_type, "frobnicate_reply");
    assert_eq!(
        reply.content,
        json!({"status": "error", "ename": "UnsupportedRequest",
               "evalue": "this kernel does not handle frobnicate_request", "traceback": []})
    );

    // A sloppy execute_request still runs with the old defaults (and is counted).
    c.request("execute_request", json!({"code": "hi"}), &signer)
        .await;
    let reply = c.shell_reply().await;
    assert_eq!(
        reply.content,
        json!({"status": "ok", "execution_count": 1, "payload": [], "user_expressions": {}})
    );

    // After a failure, what was already queued is aborted.
    c.execute("fail slowly").await;
    c.execute("queued").await;
    let failed = c.shell_reply().await;
    assert_eq!(failed.content["status"], "error");
    assert_eq!(failed.content["execution_count"], 2);
    let aborted = c.shell_reply().await;
    assert_eq!(aborted.header.msg_type, "execute_reply");
    assert_eq!(
        aborted.content,
        json!({"status": "aborted", "execution_count": 2})
    );

    let id = c
        .request(
            "history_request",
            json!({"hist_access_type": "tail", "n": 5, "output": false, "raw": true}),
            &signer,
        )
        .await;
    let reply = c.shell_reply().await;
    assert_eq!(reply.parent_header["msg_id"], id.as_str());
    assert_eq!(reply.content["status"], "ok");
    let session = &reply.content["history"][0][0];
    assert_eq!(
        reply.content["history"],
        json!([[session, 1, "hi"], [session, 2, "fail slowly"]])
    );
    c.request(
        "history_request",
        json!({"hist_access_type": "bogus"}),
        &signer,
    )
    .await;
    let reply = c.shell_reply().await;
    assert_eq!(reply.content, json!({"status": "ok", "history": []}));

    c.request("is_complete_request", json!({"code": "x"}), &signer)
        .await;
    let reply = c.shell_reply().await;
    assert_eq!(reply.header.msg_type, "is_complete_reply");
    assert_eq!(reply.content, json!({"status": "complete"}));
}
