//! The Digits logging service: every prediction and the user's feedback,
//! stored through diesel in PostgreSQL (production) or SQLite (the embedded
//! default), chosen by the `DATABASE_URL` scheme, and served over gRPC
//! (`digits.logging.v1.Logging`).
//!
//! - [`cli`], [`config`]: the command line and the settings (environment variables).
//! - [`checks`]: the rules a stored value keeps (digits, ids), written once.
//! - [`key`]: how a caller names one prediction.
//! - [`source`], [`verdict`]: where a prediction came from and what the drawing is,
//!   from the wire to their text columns.
//! - [`db`]: connecting, the connection pool and the embedded migrations.
//! - [`schema`]: the `predictions` table as diesel sees it.
//! - [`predictions`]: the queries: log (idempotent), feedback, list, stats, export.
//! - [`convert`]: between stored rows and protobuf messages.
//! - [`retention`]: forgetting old predictions without feedback (`DIGITS_RETENTION_DAYS`).
//! - [`service`]: the gRPC methods.
//! - [`startup`]: [`startup::Application`], which connects, serves and shuts down.

pub mod checks;
pub mod cli;
pub mod config;
pub mod convert;
pub mod db;
pub mod error;
pub mod key;
pub mod predictions;
pub mod retention;
pub mod schema;
pub mod service;
pub mod source;
pub mod startup;
mod text_column;
pub mod verdict;
