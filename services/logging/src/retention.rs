//! Retention: predictions nobody labelled are deleted once they are older
//! than `DIGITS_RETENTION_DAYS`. Labelled ones are kept: they are the
//! training data. The sweep runs at start and then every hour.

use std::time::Duration;

use chrono::Utc;

use crate::db::Pool;
use crate::error::StoreError;
use crate::predictions;

/// Time between sweeps.
const PERIOD: Duration = Duration::from_secs(3600);
/// Rows deleted per statement.
const BATCH: i64 = 1000;

/// Deletes the unlabelled predictions older than `keep`; returns how many.
///
/// # Errors
/// When the database is unreachable or a statement fails.
pub fn sweep(pool: &Pool, keep: Duration) -> Result<usize, StoreError> {
    // A period too long to subtract from now keeps everything.
    let Some(cutoff) = chrono::Duration::from_std(keep).ok().and_then(|keep| Utc::now().checked_sub_signed(keep))
    else {
        return Ok(0);
    };
    predictions::forget_unlabelled_before(&mut *pool.get()?, cutoff.naive_utc(), BATCH)
}

/// Sweeps now and every [`PERIOD`], until the task is aborted.
pub async fn run(pool: Pool, keep: Duration) {
    let mut ticks = tokio::time::interval(PERIOD);
    loop {
        ticks.tick().await;
        let pool = pool.clone();
        match tokio::task::spawn_blocking(move || sweep(&pool, keep)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(deleted)) => {
                tracing::info!(deleted, days = keep.as_secs() / 86_400, "retention: old unlabelled predictions deleted")
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "retention sweep failed; next try in an hour"),
            Err(e) => tracing::error!(error = %e, "retention sweep panicked"),
        }
    }
}
