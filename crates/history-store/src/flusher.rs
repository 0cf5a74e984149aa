//! Background task that sends spooled writes to MongoDB, oldest first.
//!
//! A spool row is deleted only after MongoDB acknowledged it, so a crash at
//! any point leaves it to be sent again; re-sends are no-ops thanks to the
//! record-id de-duplication in `MongoStore::append`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::error::StoreError;
use crate::remote::Remote;
use crate::spool::SpoolOp;
use crate::HistoryStore;

const MIN_BACKOFF: Duration = Duration::from_millis(250);
/// Longest pause between attempts while the server is down.
const MAX_BACKOFF: Duration = Duration::from_secs(4);
const FLUSH_BATCH: usize = 64;
/// A write the (reachable) server keeps refusing with an unexpected error is
/// set aside after this many attempts (about 30 s), so it cannot block the
/// rest of the history forever.
const MAX_REFUSALS: u32 = 10;

/// Consecutive refusals of the spool row at the head of the queue.
#[derive(Default)]
struct Refusals {
    seq: i64,
    count: u32,
}

impl Remote {
    pub(crate) async fn run_flusher(self: Arc<Self>) {
        let mut backoff = MIN_BACKOFF;
        let mut refusals = Refusals::default();
        loop {
            match self.drain(&mut refusals).await {
                Ok(()) => {
                    backoff = MIN_BACKOFF;
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = self.urgent.notified() => {}
                    }
                }
                Err(e) => {
                    tracing::debug!("history flush postponed: {e}");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = self.urgent.notified() => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Sends every spooled write, oldest first.
    async fn drain(&self, refusals: &mut Refusals) -> Result<(), StoreError> {
        let Some(mongo) = self.mongo.as_ref() else {
            return Ok(());
        };
        let was_down = !self.up.load(Ordering::Acquire);
        if was_down {
            match tokio::time::timeout(self.op_timeout, mongo.ping()).await {
                Ok(Ok(())) => self.up.store(true, Ordering::Release),
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    return Err(StoreError::Timeout {
                        target: self.target().to_string(),
                        after: self.op_timeout,
                    })
                }
            }
        }
        let mut sent = 0usize;
        loop {
            let batch = self.spool.peek(FLUSH_BATCH).await?;
            if batch.is_empty() {
                break;
            }
            for item in batch {
                let result = match &item.op {
                    SpoolOp::Session(info) => mongo.open_session(info).await,
                    SpoolOp::Exchange {
                        session_id,
                        record,
                        cap,
                    } => mongo.append(session_id, record, *cap).await,
                };
                match result {
                    Ok(()) => {
                        if let SpoolOp::Exchange {
                            session_id,
                            record,
                            cap,
                        } = item.op
                        {
                            // Remembered before the spool row goes, so no read misses it.
                            self.remember(&session_id, [*record], Some(cap));
                            sent += 1;
                        }
                        self.spool.remove(item.seq).await?;
                    }
                    Err(e) if e.is_outage() => {
                        self.mark_down(&e);
                        return Err(e);
                    }
                    Err(e @ StoreError::Mongo { .. }) => {
                        if refusals.seq != item.seq {
                            *refusals = Refusals {
                                seq: item.seq,
                                count: 0,
                            };
                        }
                        refusals.count += 1;
                        if refusals.count < MAX_REFUSALS {
                            tracing::warn!("MongoDB refused a history write, will retry: {e}");
                            return Err(e);
                        }
                        self.set_aside(item.seq, &e).await?;
                    }
                    Err(e) if e.is_record_rejected() => self.set_aside(item.seq, &e).await?,
                    Err(e) => return Err(e),
                }
            }
        }
        if was_down && sent > 0 {
            self.warnings.push(format!(
                "MongoDB at {} is reachable again; {sent} locally kept exchange(s) were sent.",
                self.target()
            ));
        }
        Ok(())
    }

    /// Moves a write MongoDB will not take out of the queue; it stays in the
    /// spool file's `rejected` table, never dropped.
    async fn set_aside(&self, seq: i64, e: &StoreError) -> Result<(), StoreError> {
        self.warnings.push(format!(
            "One history entry could not be stored ({e}); it is kept in {}.",
            self.spool.path().display()
        ));
        self.spool.reject(seq, &e.to_string()).await
    }
}
