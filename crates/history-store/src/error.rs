//! Errors shown to notebook users: one short sentence, never a credential.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the MongoDB URL is not valid ({0})")]
    InvalidUrl(String),
    #[error("MongoDB at {target} is unreachable")]
    Unreachable { target: String },
    #[error("MongoDB at {target} did not answer within {} ms", .after.as_millis())]
    Timeout { target: String, after: Duration },
    #[error("MongoDB at {target} refused the request: {message}")]
    Rejected { target: String, message: String },
    #[error("MongoDB at {target} failed: {message}")]
    Mongo { target: String, message: String },
    #[error("the history database at {path} failed: {message}")]
    Sqlite { path: String, message: String },
    #[error("a stored history record could not be read or written: {0}")]
    Data(String),
    #[error("an exchange of {size_kib} KiB is larger than the {limit_kib} KiB MongoDB allows per history entry")]
    TooLarge { size_kib: usize, limit_kib: usize },
}

impl StoreError {
    /// The server could not be reached or did not answer in time.
    pub fn is_outage(&self) -> bool {
        matches!(
            self,
            StoreError::Unreachable { .. } | StoreError::Timeout { .. }
        )
    }

    /// Permanent failures tied to one record (it will never be accepted as is).
    pub(crate) fn is_record_rejected(&self) -> bool {
        matches!(
            self,
            StoreError::Rejected { .. } | StoreError::Data(_) | StoreError::TooLarge { .. }
        )
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Data(e.to_string())
    }
}
