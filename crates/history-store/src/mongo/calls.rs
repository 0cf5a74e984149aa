//! Driver calls bounded by the store's timeout, and driver errors mapped to `StoreError`.

use std::future::IntoFuture;

use mongodb::bson::Document;
use mongodb::error::{ErrorKind, WriteFailure};

use super::secrets::redact;
use super::MongoStore;
use crate::error::StoreError;

const DUPLICATE_KEY: i32 = 11000;
/// Server error codes that reject the document itself (bad value, field
/// name, validation, size): retrying the same write can never succeed.
const DOCUMENT_REJECTED: [i32; 10] = [2, 9, 14, 52, 56, 57, 66, 121, 10334, 17419];

impl MongoStore {
    /// One driver call, bounded by the store's timeout, errors mapped.
    pub(super) async fn call<T>(
        &self,
        op: impl IntoFuture<Output = mongodb::error::Result<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, op.into_future()).await {
            Ok(result) => result.map_err(|e| self.map_err(e)),
            Err(_) => Err(StoreError::Timeout {
                target: self.target.clone(),
                after: self.timeout,
            }),
        }
    }

    /// Like `call`, but a duplicate-key error means "already stored".
    pub(super) async fn call_idempotent<T>(
        &self,
        op: impl IntoFuture<Output = mongodb::error::Result<T>>,
    ) -> Result<bool, StoreError> {
        match tokio::time::timeout(self.timeout, op.into_future()).await {
            Ok(Ok(_)) => Ok(true),
            Ok(Err(e)) if is_duplicate_key(&e) => Ok(false),
            Ok(Err(e)) => Err(self.map_err(e)),
            Err(_) => Err(StoreError::Timeout {
                target: self.target.clone(),
                after: self.timeout,
            }),
        }
    }

    fn map_err(&self, e: mongodb::error::Error) -> StoreError {
        let target = self.target.clone();
        match e.kind.as_ref() {
            ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. } => StoreError::Unreachable { target },
            ErrorKind::Authentication { .. } => StoreError::Mongo {
                target,
                message: "authentication failed (check the user and password)".into(),
            },
            // A write error concerns this one document: retrying will not help.
            ErrorKind::Write(WriteFailure::WriteError(w)) => StoreError::Rejected {
                target,
                message: redact(&w.message, &self.secrets),
            },
            ErrorKind::Command(c) if DOCUMENT_REJECTED.contains(&c.code) => StoreError::Rejected {
                target,
                message: redact(&c.message, &self.secrets),
            },
            ErrorKind::BsonSerialization(_) | ErrorKind::BsonDeserialization(_) => {
                StoreError::Data(e.to_string())
            }
            ErrorKind::Command(c) => StoreError::Mongo {
                target,
                message: redact(&format!("{} ({})", c.message, c.code_name), &self.secrets),
            },
            _ => StoreError::Mongo {
                target,
                message: redact(&e.kind.to_string(), &self.secrets),
            },
        }
    }

    pub(super) async fn collect(
        &self,
        cursor: mongodb::Cursor<Document>,
    ) -> Result<Vec<Document>, StoreError> {
        let mut cursor = cursor;
        let mut out = Vec::new();
        while self.call(cursor.advance()).await? {
            out.push(
                cursor
                    .deserialize_current()
                    .map_err(|e| StoreError::Data(e.to_string()))?,
            );
        }
        Ok(out)
    }
}

fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        _ => false,
    }
}
