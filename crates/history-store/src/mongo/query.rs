//! `%history --everywhere` over the `exchanges` collection: filters, paging, notebook names.

use mongodb::bson::{doc, Bson, Document};

use super::MongoStore;
use crate::error::StoreError;
use crate::mongo_doc::{date, record_from};
use crate::query::{ExchangePage, ExchangeQuery, FoundExchange};

impl MongoStore {
    /// `query` over the `exchanges` collection, leaving out the records with the given ids
    /// (ResilientStore lists those from its spool, so nothing is counted twice).
    pub(crate) async fn query_excluding(
        &self,
        query: &ExchangeQuery,
        exclude: &[String],
    ) -> Result<ExchangePage, StoreError> {
        self.ensure_ready().await?;
        let filter = query_filter(query, exclude);
        let total = self
            .call(self.exchanges.count_documents(filter.clone()))
            .await?;
        let mut find = self
            .exchanges
            .find(filter)
            .sort(doc! {"timestamp": -1, "_id": -1});
        if let Some(n) = query.limit {
            find = find.limit(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let cursor = self.call(find).await?;
        let mut exchanges = self
            .collect(cursor)
            .await?
            .iter()
            .map(|d| {
                Ok(FoundExchange {
                    notebook: get_str(d, "notebook"),
                    session_id: get_str(d, "session_id"),
                    record: record_from(d)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // An exchange appended before its session was opened was stored without the notebook.
        let unnamed: Vec<String> = exchanges
            .iter()
            .filter(|f| f.notebook.is_empty())
            .map(|f| f.session_id.clone())
            .collect();
        if !unnamed.is_empty() {
            let names = self.notebooks_of(&unnamed).await?;
            for f in exchanges.iter_mut().filter(|f| f.notebook.is_empty()) {
                f.notebook = names.get(&f.session_id).cloned().unwrap_or_default();
            }
        }
        Ok(ExchangePage {
            total: usize::try_from(total).unwrap_or(usize::MAX),
            exchanges,
            incomplete: None,
        })
    }

    /// session id -> notebook, for the sessions that exist.
    pub(crate) async fn notebooks_of(
        &self,
        session_ids: &[String],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        self.ensure_ready().await?;
        let cursor = self
            .call(
                self.sessions
                    .find(doc! {"_id": {"$in": session_ids}})
                    .projection(doc! {"notebook": 1}),
            )
            .await?;
        Ok(self
            .collect(cursor)
            .await?
            .iter()
            .map(|d| (get_str(d, "_id"), get_str(d, "notebook")))
            .collect())
    }
}

/// `ExchangeQuery` as a filter on the `exchanges` collection (same rule as `matches`).
fn query_filter(query: &ExchangeQuery, exclude: &[String]) -> Document {
    let mut filter = Document::new();
    if let Some(model) = &query.model {
        filter.insert("model", model);
    }
    if let Some(since) = query.since {
        filter.insert("timestamp", doc! {"$gte": date(since)});
    }
    if query.errors_only {
        filter.insert("error", doc! {"$ne": Bson::Null});
    }
    if query.replayed_only {
        filter.insert("replayed", true);
    }
    if !exclude.is_empty() {
        filter.insert("_id", doc! {"$nin": exclude});
    }
    filter
}

fn get_str(d: &Document, field: &str) -> String {
    d.get_str(field).unwrap_or_default().to_string()
}
