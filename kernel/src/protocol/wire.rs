//! Wire codec: multipart ZMQ frames <-> Jupyter messages, with HMAC-SHA256 signing.
//!
//! Frames: `[identities..., "<IDS|MSG>", signature, header, parent_header, metadata, content, buffers...]`.
//! The signature covers header|parent|metadata|content exactly as received, so we verify
//! over the raw bytes and only then parse JSON.

use bytes::Bytes;
use hmac::{Hmac, Mac};
use jupyter_protocol::Header;
use serde_json::{json, Value};
use sha2::Sha256;

pub const DELIMITER: &[u8] = b"<IDS|MSG>";

/// The protocol version this kernel speaks (every header, and `kernel_info_reply`).
pub const PROTOCOL_VERSION: &str = "5.3";

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies message parts. An empty key disables signing (as Jupyter specifies).
#[derive(Clone)]
pub struct Signer {
    key: Option<Vec<u8>>,
}

impl Signer {
    pub fn new(key: &str) -> Self {
        let key = (!key.is_empty()).then(|| key.as_bytes().to_vec());
        Self { key }
    }

    fn mac(&self, parts: &[&[u8]]) -> Option<HmacSha256> {
        let key = self.key.as_ref()?;
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
        for part in parts {
            mac.update(part);
        }
        Some(mac)
    }

    /// Lowercase hex signature of the four signed parts ("" when signing is off).
    pub fn sign(&self, parts: &[&[u8]]) -> String {
        self.mac(parts)
            .map(|m| hex::encode(m.finalize().into_bytes()))
            .unwrap_or_default()
    }

    /// Constant-time check of a received signature.
    pub fn verify(&self, signature: &[u8], parts: &[&[u8]]) -> bool {
        match self.mac(parts) {
            None => true,
            Some(mac) => match hex::decode(signature) {
                Ok(raw) => mac.verify_slice(&raw).is_ok(),
                Err(_) => false,
            },
        }
    }
}

/// A decoded Jupyter message, content as JSON (`request::Request` types a request's content).
#[derive(Debug, Clone)]
pub struct Message {
    pub identities: Vec<Bytes>,
    pub header: Header,
    pub parent_header: Value,
    pub metadata: Value,
    pub content: Value,
    pub buffers: Vec<Bytes>,
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("no <IDS|MSG> delimiter in message")]
    NoDelimiter,
    #[error("message has {0} frames after the delimiter; at least 5 are required")]
    TooFewFrames(usize),
    #[error("invalid signature")]
    BadSignature,
    #[error("invalid JSON in {part}: {source}")]
    BadJson {
        part: &'static str,
        source: serde_json::Error,
    },
}

fn parse_json(part: &'static str, raw: &[u8]) -> Result<Value, WireError> {
    serde_json::from_slice(raw).map_err(|source| WireError::BadJson { part, source })
}

/// Decode and authenticate a multipart message.
pub fn decode(frames: Vec<Bytes>, signer: &Signer) -> Result<Message, WireError> {
    let split = frames
        .iter()
        .position(|f| f.as_ref() == DELIMITER)
        .ok_or(WireError::NoDelimiter)?;
    let rest = &frames[split + 1..];
    if rest.len() < 5 {
        return Err(WireError::TooFewFrames(rest.len()));
    }
    let signed: [&[u8]; 4] = [&rest[1], &rest[2], &rest[3], &rest[4]];
    if !signer.verify(&rest[0], &signed) {
        return Err(WireError::BadSignature);
    }
    let header: Header = serde_json::from_slice(&rest[1]).map_err(|source| WireError::BadJson {
        part: "header",
        source,
    })?;
    Ok(Message {
        identities: frames[..split].to_vec(),
        header,
        parent_header: parse_json("parent_header", &rest[2])?,
        metadata: parse_json("metadata", &rest[3])?,
        content: parse_json("content", &rest[4])?,
        buffers: rest[5..].to_vec(),
    })
}

/// Encode a message into frames ready for a socket.
pub fn encode(msg: &Message, signer: &Signer) -> Vec<Bytes> {
    let header = serde_json::to_vec(&msg.header).expect("header serializes");
    let parent = serde_json::to_vec(&msg.parent_header).expect("json serializes");
    let metadata = serde_json::to_vec(&msg.metadata).expect("json serializes");
    let content = serde_json::to_vec(&msg.content).expect("json serializes");
    let signature = signer.sign(&[&header, &parent, &metadata, &content]);
    let mut frames = msg.identities.clone();
    frames.push(Bytes::from_static(DELIMITER));
    frames.push(Bytes::from(signature));
    frames.extend([header, parent, metadata, content].map(Bytes::from));
    frames.extend(msg.buffers.iter().cloned());
    frames
}

/// Builds outgoing messages for one kernel session.
#[derive(Clone)]
pub struct MessageFactory {
    session: String,
}

impl MessageFactory {
    pub fn new() -> Self {
        Self {
            session: uuid::Uuid::new_v4().to_string(),
        }
    }

    fn header(&self, msg_type: &str) -> Header {
        Header {
            msg_id: uuid::Uuid::new_v4().to_string(),
            username: "kernel".into(),
            session: self.session.clone(),
            date: chrono::Utc::now(),
            msg_type: msg_type.into(),
            version: PROTOCOL_VERSION.into(),
        }
    }

    /// A reply or output whose parent is `parent` (routed back to the same identities).
    pub fn child(&self, parent: &Message, msg_type: &str, content: Value) -> Message {
        Message {
            identities: parent.identities.clone(),
            header: self.header(msg_type),
            parent_header: serde_json::to_value(&parent.header).unwrap_or_else(|_| json!({})),
            metadata: json!({}),
            content,
            buffers: vec![],
        }
    }

    /// A broadcast with no parent (e.g. `iopub_welcome`, the starting status).
    pub fn orphan(&self, msg_type: &str, content: Value) -> Message {
        Message {
            identities: vec![],
            header: self.header(msg_type),
            parent_header: json!({}),
            metadata: json!({}),
            content,
            buffers: vec![],
        }
    }
}

impl Default for MessageFactory {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed with jupyter_client.session.Session(key=b"secret-key").sign([...])
    // over the four parts below (`python -c "from jupyter_client.session import Session; print(Session(key=b'secret-key').sign([...]))"`).
    const KEY: &str = "secret-key";
    const HEADER: &str = r#"{"msg_id":"a1","username":"u","session":"s1","date":"2026-01-01T00:00:00.000000Z","msg_type":"kernel_info_request","version":"5.3"}"#;

    fn frames_with(sig: &str, content: &str) -> Vec<Bytes> {
        vec![
            Bytes::from_static(b"client-id"),
            Bytes::from_static(DELIMITER),
            Bytes::from(sig.to_string()),
            Bytes::from(HEADER),
            Bytes::from("{}"),
            Bytes::from("{}"),
            Bytes::from(content.to_string()),
        ]
    }

    #[test]
    fn signatures_match_jupyter_client_session() {
        let signer = Signer::new(KEY);
        let h = HEADER.as_bytes();
        assert_eq!(
            signer.sign(&[h, b"{}", b"{}", b"{}"]),
            "4439fc346d09e2913cf915e08ede7e63375e3aa5c219988aecddd329c4cdcaba"
        );
        assert_eq!(
            signer.sign(&[h, b"{}", br#"{"a":1}"#, br#"{"code":"%%python\n1+1"}"#]),
            "772583ee635984ac1a2a1a3984631c026c27f6aa928c6f555e3d7fc058b2c379"
        );
        let uuid_key = Signer::new("f3a9c1e2-5b7d-4e8a-9c0f-1a2b3c4d5e6f");
        assert_eq!(
            uuid_key.sign(&[h, b"{}", b"{}", b"{}"]),
            "66d99c37bf421867770db5818bc6685371478abd1f9fc10a1031402455d5ece2"
        );
    }

    #[test]
    fn empty_key_means_no_signature() {
        let s = Signer::new("");
        assert_eq!(s.sign(&[b"a", b"b", b"c", b"d"]), "");
        assert!(s.verify(b"anything", &[b"a"]));
    }

    #[test]
    fn round_trip_verifies() {
        let signer = Signer::new(KEY);
        let f = MessageFactory::new();
        let mut msg = f.orphan("status", json!({"execution_state": "idle"}));
        msg.identities = vec![Bytes::from_static(b"peer")];
        let frames = encode(&msg, &signer);
        let back = decode(frames, &signer).unwrap();
        assert_eq!(back.header.msg_type, "status");
        assert_eq!(back.content["execution_state"], "idle");
        assert_eq!(back.identities.len(), 1);
    }

    #[test]
    fn tampered_content_is_rejected() {
        let signer = Signer::new(KEY);
        let sig = signer.sign(&[HEADER.as_bytes(), b"{}", b"{}", b"{}"]);
        assert!(decode(frames_with(&sig, "{}"), &signer).is_ok());
        let err = decode(frames_with(&sig, r#"{"x":1}"#), &signer).unwrap_err();
        assert!(matches!(err, WireError::BadSignature));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let signer = Signer::new(KEY);
        assert!(matches!(
            decode(vec![Bytes::from_static(b"junk")], &signer),
            Err(WireError::NoDelimiter)
        ));
        let short = vec![Bytes::from_static(DELIMITER), Bytes::from_static(b"x")];
        assert!(matches!(
            decode(short, &signer),
            Err(WireError::TooFewFrames(1))
        ));
        let unsigned = Signer::new("");
        let bad_json = frames_with("", "{not json");
        assert!(matches!(
            decode(bad_json, &unsigned),
            Err(WireError::BadJson { .. })
        ));
        let bad_hex = frames_with("zz", "{}");
        assert!(matches!(
            decode(bad_hex, &signer),
            Err(WireError::BadSignature)
        ));
    }
}
