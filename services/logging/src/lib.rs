//! The Digits logging service: every prediction and the user's feedback,
//! stored through diesel in PostgreSQL (production) or SQLite (the embedded
//! default), chosen by the `DATABASE_URL` scheme.
//!
//! - [`db`]: connecting, the connection pool and the embedded migrations.
//! - [`schema`]: the `predictions` table as diesel sees it.
//! - [`predictions`]: the queries: log (idempotent), feedback, get.

pub mod db;
pub mod error;
pub mod predictions;
pub mod schema;
