//! MongoDB backend: the design doc's `sessions` collection plus an unbounded
//! `exchanges` audit collection. Only standard driver operations are used.

mod calls;
mod query;
mod secrets;
mod store;

use std::time::Duration;

use mongodb::bson::{doc, Document};
use mongodb::options::{ClientOptions, WriteConcern};
use mongodb::{Client, Collection, IndexModel};
use tokio::sync::OnceCell;

use crate::error::StoreError;
use secrets::{invalid_url_reason, redact, url_password};

pub struct MongoStore {
    client: Client,
    sessions: Collection<Document>,
    exchanges: Collection<Document>,
    /// "host:port/db", used in messages; never contains credentials.
    target: String,
    /// The URL's password (as written and decoded), scrubbed from any driver
    /// message passed on.
    secrets: Vec<String>,
    timeout: Duration,
    /// Ping + index creation, done once on first successful contact.
    ready: OnceCell<()>,
}

impl MongoStore {
    /// Connects and verifies the server answers within `timeout`.
    pub async fn connect(url: &str, database: &str, timeout: Duration) -> Result<Self, StoreError> {
        let store = Self::configure(url, database, timeout).await?;
        store.ensure_ready().await?;
        Ok(store)
    }

    /// Builds the client without contacting the server (the driver connects
    /// lazily), so a store can exist while the server is down.
    pub(crate) async fn configure(
        url: &str,
        database: &str,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let mut secrets: Vec<String> = url_password(url).into_iter().collect();
        let scrub = |m: String| redact(&m, &secrets);
        // Parsing a mongodb+srv URL does DNS lookups; bound it like any other call.
        let mut opts = match tokio::time::timeout(
            timeout.max(Duration::from_secs(2)),
            ClientOptions::parse(url),
        )
        .await
        {
            Ok(Ok(o)) => o,
            Ok(Err(e)) => return Err(StoreError::InvalidUrl(scrub(invalid_url_reason(&e)))),
            Err(_) => {
                return Err(StoreError::InvalidUrl(
                    "resolving the mongodb+srv host timed out".into(),
                ))
            }
        };
        // Short timeouts: a down server must never hold a notebook cell for long.
        opts.server_selection_timeout = Some(timeout);
        opts.connect_timeout = Some(timeout);
        opts.app_name
            .get_or_insert_with(|| "llm-analytics-kernel".into());
        // "Acknowledged" should mean durable on the server, since the local
        // spool copy is deleted on acknowledgement; a URL's own w/journal wins.
        if opts.write_concern.is_none() {
            opts.write_concern = Some(WriteConcern::builder().journal(true).build());
        }
        if let Some(pw) = opts.credential.as_ref().and_then(|c| c.password.clone()) {
            secrets.push(pw);
        }
        let scrub = |m: String| redact(&m, &secrets);
        let hosts: Vec<String> = opts.hosts.iter().map(|h| h.to_string()).collect();
        let target = format!("{}/{}", hosts.join(","), database);
        let client =
            Client::with_options(opts).map_err(|e| StoreError::InvalidUrl(scrub(e.to_string())))?;
        let db = client.database(database);
        Ok(MongoStore {
            sessions: db.collection("sessions"),
            exchanges: db.collection("exchanges"),
            client,
            target,
            secrets,
            timeout,
            ready: OnceCell::new(),
        })
    }

    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// Cheap liveness check (the first real operation then creates the indexes).
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        self.call(self.client.database("admin").run_command(doc! {"ping": 1}))
            .await?;
        Ok(())
    }

    async fn ensure_ready(&self) -> Result<(), StoreError> {
        self.ready
            .get_or_try_init(|| async {
                self.ping().await?;
                let index = |keys: Document| IndexModel::builder().keys(keys).build();
                self.call(self.exchanges.create_index(index(
                    doc! {"question": 1, "data_fingerprint": 1, "context_key": 1},
                )))
                .await?;
                self.call(
                    self.exchanges
                        .create_index(index(doc! {"session_id": 1, "timestamp": 1})),
                )
                .await?;
                self.call(self.sessions.create_index(index(doc! {"notebook": 1})))
                    .await?;
                self.call(self.exchanges.create_index(index(doc! {"timestamp": 1})))
                    .await?;
                Ok(())
            })
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_found_and_redacted() {
        let url = "mongodb://kernel:s3cr%40t@db.example:27017/?authSource=admin";
        let pw = url_password(url);
        assert_eq!(pw.as_deref(), Some("s3cr%40t"));
        let secrets: Vec<String> = pw.into_iter().collect();
        assert_eq!(redact("bad s3cr%40t here", &secrets), "bad *** here");
        assert_eq!(url_password("mongodb://db.example:27017"), None);
        assert_eq!(url_password("mongodb://user@db.example"), None);
    }
}
