//! The gRPC methods of `digits.logging.v1.Logging`. Database work is
//! blocking, so every call runs it on tokio's blocking pool.

use std::pin::Pin;

use digits_proto::logging::v1 as pb;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::checks;
use crate::convert;
use crate::db::{DbConnection, Pool};
use crate::error::StoreError;
use crate::predictions::{self, ListFilter};

/// Rows read from the database per page of an export.
const EXPORT_PAGE: i64 = 256;

/// Most entries in one `LogPredictions` call.
pub const MAX_LOG_BATCH: usize = 1000;

/// The service over a connection pool.
#[derive(Clone)]
pub struct LoggingService {
    pool: Pool,
}

impl LoggingService {
    /// Builds the service.
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    /// Runs `work` with a pooled connection on the blocking pool.
    async fn with_conn<T, F>(&self, work: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = crate::db::connection(&pool)?;
            let result = work(&mut conn);
            drop(conn);
            crate::db::record_pool_state(&pool);
            result
        })
        .await
        .map_err(|e| Status::internal(format!("database task failed: {e}")))?
        .map_err(Status::from)
    }
}

type ExportStream = Pin<Box<dyn Stream<Item = Result<pb::LabeledExample, Status>> + Send>>;

#[tonic::async_trait]
impl pb::logging_server::Logging for LoggingService {
    async fn log_prediction(
        &self,
        request: Request<pb::LogPredictionRequest>,
    ) -> Result<Response<pb::LogPredictionResponse>, Status> {
        let new = convert::new_prediction(request.into_inner())?;
        let (row, created) = self.with_conn(move |c| predictions::log(c, &new)).await?;
        Ok(Response::new(pb::LogPredictionResponse { prediction: Some(convert::stored(row)), created }))
    }

    async fn log_predictions(
        &self,
        request: Request<pb::LogPredictionsRequest>,
    ) -> Result<Response<pb::LogPredictionsResponse>, Status> {
        let entries = request.into_inner().entries;
        metrics::histogram!("digits_log_entries_per_call").record(entries.len() as f64);
        if entries.is_empty() || entries.len() > MAX_LOG_BATCH {
            return Err(Status::invalid_argument(format!("entries: 1 to {MAX_LOG_BATCH}, not {}", entries.len())));
        }
        // Each entry continues the trace of the request that made it.
        let traces: Vec<(String, String)> =
            entries.iter().map(|e| (e.request_id.clone(), e.traceparent.clone())).collect();
        let mut rows = Vec::with_capacity(entries.len());
        let mut rejected = Vec::new();
        for entry in entries {
            let request_id = entry.request_id.clone();
            match convert::new_prediction(entry) {
                Ok(row) => rows.push(row),
                Err(error) => rejected.push(pb::RejectedEntry { request_id, reason: error.to_string() }),
            }
        }
        let logged = self.with_conn(move |c| predictions::log_many(c, rows)).await?;
        rejected.extend(
            logged
                .rejected
                .into_iter()
                .map(|(request_id, error)| pb::RejectedEntry { request_id, reason: error.to_string() }),
        );
        let reasons: std::collections::HashMap<&str, &str> =
            rejected.iter().map(|r| (r.request_id.as_str(), r.reason.as_str())).collect();
        for (request_id, traceparent) in &traces {
            let _entry = digits_service_kit::trace::continue_trace("store_prediction", traceparent).entered();
            match reasons.get(request_id.as_str()) {
                None => tracing::debug!(request_id, "prediction stored"),
                Some(reason) => tracing::warn!(request_id, reason, "prediction rejected"),
            }
        }
        metrics::counter!("digits_log_entries_created_total").increment(logged.created as u64);
        metrics::counter!("digits_log_entries_rejected_total").increment(rejected.len() as u64);
        let created = u32::try_from(logged.created).unwrap_or(u32::MAX);
        Ok(Response::new(pb::LogPredictionsResponse { created, rejected }))
    }

    async fn record_feedback(
        &self,
        request: Request<pb::RecordFeedbackRequest>,
    ) -> Result<Response<pb::StoredPrediction>, Status> {
        let r = request.into_inner();
        let label = convert::label(r.true_label, r.true_number)?;
        let key = convert::key(r.prediction)?;
        let owner = r.owner;
        let row = self.with_conn(move |c| predictions::record_feedback(c, key, owner.as_deref(), label)).await?;
        Ok(Response::new(convert::stored(row)))
    }

    async fn get_prediction(
        &self,
        request: Request<pb::GetPredictionRequest>,
    ) -> Result<Response<pb::StoredPrediction>, Status> {
        let r = request.into_inner();
        let key = convert::key(r.prediction)?;
        let owner = r.owner;
        let row = self.with_conn(move |c| predictions::get(c, key, owner.as_deref())).await?;
        Ok(Response::new(convert::stored(row)))
    }

    async fn delete_prediction(
        &self,
        request: Request<pb::DeletePredictionRequest>,
    ) -> Result<Response<pb::DeletePredictionResponse>, Status> {
        let r = request.into_inner();
        let key = convert::key(Some(crate::predictions::PredictionKey::RequestId(r.request_id)))?;
        let owner = r.owner;
        self.with_conn(move |c| predictions::delete(c, key, owner.as_deref())).await?;
        Ok(Response::new(pb::DeletePredictionResponse {}))
    }

    async fn list_predictions(
        &self,
        request: Request<pb::ListPredictionsRequest>,
    ) -> Result<Response<pb::ListPredictionsResponse>, Status> {
        let r = request.into_inner();
        let filter = ListFilter {
            before: r.before,
            limit: if r.limit == 0 { 50 } else { i64::from(r.limit) },
            has_feedback: r.has_feedback,
            wrong_only: r.wrong_only,
            digit: r.digit.map(|d| checks::class("digit", i64::from(d))).transpose()?,
            true_label: r.true_label.map(|d| checks::class("true_label", i64::from(d))).transpose()?,
            owner: r.owner,
        };
        let (rows, more) = self.with_conn(move |c| predictions::page(c, &filter)).await?;
        // A cursor only when older rows exist: no empty page behind "Older".
        let next_before = if more { rows.last().map(|p| p.id) } else { None };
        Ok(Response::new(pb::ListPredictionsResponse {
            predictions: rows.into_iter().map(convert::stored).collect(),
            next_before,
        }))
    }

    async fn get_stats(&self, request: Request<pb::GetStatsRequest>) -> Result<Response<pb::GetStatsResponse>, Status> {
        let owner = request.into_inner().owner;
        let (overall, by_version) = self.with_conn(move |c| predictions::stats(c, owner.as_deref())).await?;
        Ok(Response::new(pb::GetStatsResponse {
            overall: Some(convert::stats(&overall)),
            by_model_version: by_version
                .iter()
                .map(|(version, stats)| pb::VersionStats {
                    model_version: version.clone(),
                    stats: Some(convert::stats(stats)),
                })
                .collect(),
        }))
    }

    type ExportLabeledStream = ExportStream;

    async fn export_labeled(
        &self,
        request: Request<pb::ExportLabeledRequest>,
    ) -> Result<Response<ExportStream>, Status> {
        let service = self.clone();
        let mut after = request.into_inner().after_id;
        let (sender, receiver) = tokio::sync::mpsc::channel(EXPORT_PAGE as usize);
        // Pages are read one at a time, so memory stays flat however large the
        // export; the channel's bound paces the reads to the client.
        tokio::spawn(async move {
            loop {
                let page = service.with_conn(move |c| predictions::labelled_after(c, after, EXPORT_PAGE)).await;
                let rows = match page {
                    Ok(rows) => rows,
                    Err(status) => {
                        let _ = sender.send(Err(status)).await;
                        return;
                    }
                };
                let Some(last) = rows.last() else { return };
                after = last.id;
                for row in rows {
                    let example = pb::LabeledExample {
                        id: row.id,
                        true_label: row.true_label.and_then(|l| u32::try_from(l).ok()).unwrap_or_default(),
                        predicted_digit: u32::try_from(row.predicted_digit).unwrap_or_default(),
                        model_version: row.model_version,
                        input: row.input,
                        owner: row.owner,
                    };
                    if sender.send(Ok(example)).await.is_err() {
                        return; // the client went away
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver))))
    }
}
