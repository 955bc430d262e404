//! The rows of `predictions` ([`NewPrediction`], [`Prediction`]) and every
//! query on them: log a prediction (idempotent on its request id), fetch
//! one, record feedback, list a page, compute the statistics, read the
//! labelled rows for the export, and forget old unlabelled ones.
//!
//! Reads and feedback take an [`Owner`] scope: with `Some(owner)`, another
//! owner's prediction is [`StoreError::NotFound`], exactly like a missing one.

use chrono::{NaiveDateTime, Utc};
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::SmallInt;

use crate::checks::{self, invalid, storable};
use crate::db::DbConnection;
use crate::error::StoreError;
pub use crate::key::PredictionKey;
use crate::schema::predictions;
pub use crate::source::Source;
pub use crate::verdict::Verdict;

/// `true_label` of a drawing that is not a digit.
pub const NOT_A_DIGIT: i16 = 10;
/// `true_label` of a number read right.
pub const NUMBER_RIGHT: i16 = 11;
/// `true_label` of a number read wrong; `true_number` holds the right one.
pub const ANOTHER_NUMBER: i16 = 12;
/// The largest stored `parts`.
pub const MAX_PARTS_BYTES: usize = 8192;

/// A prediction to log.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = predictions)]
pub struct NewPrediction {
    /// The caller's unique id for the request.
    pub request_id: String,
    /// When it was made (UTC).
    pub created_at: NaiveDateTime,
    /// The predicted digit.
    pub predicted_digit: i16,
    /// Its probability.
    pub confidence: f32,
    /// Ten little-endian f32 probabilities (40 bytes).
    pub probabilities: Vec<u8>,
    /// The model version.
    pub model_version: String,
    /// The 28x28 input (784 bytes).
    pub input: Vec<u8>,
    /// Where it was requested.
    pub source: Source,
    /// Latency in microseconds.
    pub latency_us: i64,
    /// Whose prediction it is; empty for nobody.
    pub owner: String,
    /// What the drawing is.
    pub verdict: Verdict,
    /// The digits read, left to right; empty for not a digit.
    pub number: String,
    /// Every part, encoded (see `convert`); `None` when not given.
    pub parts: Option<Vec<u8>>,
    /// Which reading of the drawing this is; 0 for the first.
    pub revision: i32,
}

/// A stored prediction.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = predictions)]
pub struct Prediction {
    /// Row id.
    pub id: i64,
    /// The caller's request id.
    pub request_id: String,
    /// When it was made (UTC).
    pub created_at: NaiveDateTime,
    /// The predicted digit.
    pub predicted_digit: i16,
    /// Its probability.
    pub confidence: f32,
    /// Ten little-endian f32 probabilities.
    pub probabilities: Vec<u8>,
    /// The user's true label.
    pub true_label: Option<i16>,
    /// When the latest feedback was given (UTC).
    pub feedback_at: Option<NaiveDateTime>,
    /// The model version.
    pub model_version: String,
    /// The 28x28 input.
    pub input: Vec<u8>,
    /// Where it was requested.
    pub source: Source,
    /// Latency in microseconds.
    pub latency_us: i64,
    /// Whose prediction it is; empty for nobody.
    pub owner: String,
    /// What the drawing is.
    pub verdict: Verdict,
    /// The digits read, left to right; empty for not a digit.
    pub number: String,
    /// Every part, encoded (see `convert`); `None` for rows logged without.
    pub parts: Option<Vec<u8>>,
    /// The right number, when the user corrected a number.
    pub true_number: Option<String>,
    /// Which reading of the drawing the row holds; 0 for the first.
    pub revision: i32,
}

impl Prediction {
    /// The class the statistics count it under: the digit, [`NOT_A_DIGIT`],
    /// or [`NUMBER_RIGHT`] for a number.
    pub fn predicted_class(&self) -> i16 {
        match self.verdict {
            Verdict::Digit => self.predicted_digit,
            Verdict::NotADigit => NOT_A_DIGIT,
            Verdict::SeveralDigits => NUMBER_RIGHT,
        }
    }
}

/// What the user says was drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    /// This digit, 0-9.
    Digit(i16),
    /// Not a digit at all.
    NotADigit,
    /// This number, 2-8 digits.
    Number(String),
}

/// Whether `number` is `len` digits, `len` in `lengths`.
fn is_number(number: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit())
}

/// Whose predictions a call may see: `Some(owner)` for that owner's only,
/// `None` for all of them (the operators' views).
pub type Owner<'a> = Option<&'a str>;

impl NewPrediction {
    /// Checks the rules the schema enforces, so callers get a clear message
    /// instead of a constraint violation.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] naming the field.
    pub fn validate(&self) -> Result<(), StoreError> {
        if !storable(&self.request_id, 128) {
            return Err(invalid("request_id", "must be 1 to 128 bytes, without NUL"));
        }
        if !self.owner.is_empty() && !storable(&self.owner, 128) {
            return Err(invalid("owner", "must be 0 to 128 bytes, without NUL"));
        }
        checks::digit("predicted_digit", i64::from(self.predicted_digit))?;
        if !(0.0..=1.0).contains(&self.confidence) {
            return Err(invalid("confidence", format!("{} is outside [0, 1]", self.confidence)));
        }
        if self.probabilities.len() != 40 {
            return Err(invalid(
                "probabilities",
                format!("{} bytes, expected 10 float32 (40 bytes)", self.probabilities.len()),
            ));
        }
        if self.input.len() != 784 {
            return Err(invalid("input", format!("{} bytes, expected 784 (28x28)", self.input.len())));
        }
        if self.model_version.is_empty() || self.model_version.len() > 64 {
            return Err(invalid("model_version", "must be 1 to 64 bytes"));
        }
        if self.revision < 0 {
            return Err(invalid("revision", "must be at most 2^31 - 1"));
        }
        if self.latency_us < 0 {
            return Err(invalid("latency_us", "must not be negative"));
        }
        let fits = match self.verdict {
            Verdict::Digit => self.number == self.predicted_digit.to_string(),
            Verdict::NotADigit => self.number.is_empty(),
            Verdict::SeveralDigits => is_number(&self.number, 2..=8),
        };
        if !fits {
            return Err(invalid(
                "number",
                format!("{:?} does not fit the verdict {}", self.number, self.verdict.as_str()),
            ));
        }
        if self.parts.as_ref().is_some_and(|p| p.len() > MAX_PARTS_BYTES) {
            return Err(invalid("parts", format!("more than {MAX_PARTS_BYTES} bytes")));
        }
        Ok(())
    }
}

/// Stores `new` unless a prediction with its request id exists (a later
/// revision replaces the reading, see [`log_many`]); returns the stored row
/// and whether this call created it. A retry never duplicates.
///
/// # Errors
/// [`StoreError::Invalid`] or a database error.
pub fn log(conn: &mut DbConnection, new: &NewPrediction) -> Result<(Prediction, bool), StoreError> {
    new.validate()?;
    let created = write(conn, std::slice::from_ref(new))? > 0;
    let row = predictions::table
        .filter(predictions::request_id.eq(&new.request_id))
        .select(Prediction::as_select())
        .first(conn)?;
    Ok((row, created))
}

/// What [`log_many`] did with a batch.
#[derive(Debug, Default)]
pub struct Logged {
    /// Rows stored by this call (the others were stored before, or rejected).
    pub created: usize,
    /// The request ids of the rows that break a rule, each with the rule.
    pub rejected: Vec<(String, StoreError)>,
}

/// Stores every valid row of `rows` whose request id is not stored yet, in
/// one transaction (one multi-row INSERT on PostgreSQL); a row that breaks a
/// rule is returned in [`Logged::rejected`] and the others are stored. A
/// retry never duplicates. A row with a revision above 0 also replaces the
/// reading of its stored drawing when that row has the same owner, no
/// feedback and a lower revision: one drawing stays one row while it grows.
///
/// # Errors
/// A database error; then nothing of the batch is stored.
pub fn log_many(conn: &mut DbConnection, rows: Vec<NewPrediction>) -> Result<Logged, StoreError> {
    let mut rejected = Vec::new();
    let rows: Vec<NewPrediction> = rows
        .into_iter()
        .filter_map(|row| match row.validate() {
            Ok(()) => Some(row),
            Err(error) => {
                rejected.push((row.request_id, error));
                None
            }
        })
        .collect();
    Ok(Logged { created: write(conn, &rows)?, rejected })
}

/// Inserts the new rows and applies the later revisions, in one
/// transaction; returns how many rows were created.
fn write(conn: &mut DbConnection, rows: &[NewPrediction]) -> Result<usize, StoreError> {
    if rows.iter().all(|row| row.revision == 0) {
        return insert_new(conn, rows);
    }
    conn.transaction(|conn| {
        let created = insert_new(conn, rows)?;
        for row in rows.iter().filter(|row| row.revision > 0) {
            revise(conn, row)?;
        }
        Ok(created)
    })
}

/// Replaces the reading of `row`'s drawing with this later revision, if the
/// stored row is the same owner's, has no feedback, and holds an earlier
/// revision; otherwise changes nothing.
fn revise(conn: &mut DbConnection, row: &NewPrediction) -> Result<(), StoreError> {
    diesel::update(
        predictions::table
            .filter(predictions::request_id.eq(&row.request_id))
            .filter(predictions::owner.eq(&row.owner))
            .filter(predictions::true_label.is_null())
            .filter(predictions::revision.lt(row.revision)),
    )
    .set((
        predictions::predicted_digit.eq(row.predicted_digit),
        predictions::confidence.eq(row.confidence),
        predictions::probabilities.eq(&row.probabilities),
        predictions::model_version.eq(&row.model_version),
        predictions::input.eq(&row.input),
        predictions::latency_us.eq(row.latency_us),
        predictions::verdict.eq(row.verdict),
        predictions::number.eq(&row.number),
        predictions::parts.eq(&row.parts),
        predictions::revision.eq(row.revision),
    ))
    .execute(conn)?;
    Ok(())
}

/// Deletes a prediction `owner` may see, for good.
///
/// # Errors
/// [`StoreError::NotFound`] or a database error.
pub fn delete(conn: &mut DbConnection, key: impl Into<PredictionKey>, owner: Owner) -> Result<(), StoreError> {
    let key = key.into();
    conn.transaction(|conn| {
        let row = get(conn, key, owner)?;
        diesel::delete(predictions::table.find(row.id)).execute(conn)?;
        Ok(())
    })
}

/// Inserts the rows whose request id is not stored yet; returns how many.
fn insert_new(conn: &mut DbConnection, rows: &[NewPrediction]) -> Result<usize, StoreError> {
    if rows.is_empty() {
        return Ok(0);
    }
    // diesel's multi-backend connection has no ON CONFLICT, so each backend
    // is addressed on its own: PostgreSQL takes one multi-row statement;
    // SQLite (whose batch INSERT diesel cannot combine with ON CONFLICT)
    // takes one prepared statement per row in one transaction, a single
    // commit either way. A failed SQLite statement leaves the transaction
    // usable, so a row already stored is skipped without losing the others.
    let created = match conn {
        DbConnection::Postgresql(pg) => {
            diesel::insert_into(predictions::table).values(rows).on_conflict_do_nothing().execute(pg)?
        }
        DbConnection::Sqlite(sqlite) => sqlite.transaction(|sqlite| {
            let mut created = 0;
            for row in rows {
                match diesel::insert_into(predictions::table).values(row).execute(sqlite) {
                    Ok(n) => created += n,
                    Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(created)
        })?,
    };
    Ok(created)
}

/// Fetches one prediction, if `owner` may see it.
///
/// # Errors
/// [`StoreError::NotFound`] or a database error.
pub fn get(conn: &mut DbConnection, key: impl Into<PredictionKey>, owner: Owner) -> Result<Prediction, StoreError> {
    let key = key.into();
    let mut query = predictions::table.select(Prediction::as_select()).into_boxed();
    query = match &key {
        PredictionKey::Id(id) => query.filter(predictions::id.eq(*id)),
        PredictionKey::RequestId(request_id) if storable(request_id, 128) => {
            query.filter(predictions::request_id.eq(request_id.clone()))
        }
        PredictionKey::RequestId(_) => return Err(StoreError::NotFound(key)),
    };
    if let Some(owner) = owner {
        if !storable(owner, 128) {
            return Err(StoreError::NotFound(key));
        }
        query = query.filter(predictions::owner.eq(owner.to_owned()));
    }
    query.first(conn).optional()?.ok_or(StoreError::NotFound(key))
}

/// Records what the user says was drawn on a prediction `owner` may see; a
/// later call overwrites it and its time. A number equal to the one read is
/// stored as [`NUMBER_RIGHT`], another as [`ANOTHER_NUMBER`] with the number.
/// The read and the write are one transaction, so the answer is the row as
/// this call left it.
///
/// # Errors
/// [`StoreError::Invalid`] for a digit outside 0-9 or a number that is not
/// 2-8 digits, [`StoreError::NotFound`].
pub fn record_feedback(
    conn: &mut DbConnection,
    key: impl Into<PredictionKey>,
    owner: Owner,
    label: Label,
) -> Result<Prediction, StoreError> {
    match &label {
        Label::Digit(d) => drop(checks::digit("true_label", i64::from(*d))?),
        Label::Number(n) if !is_number(n, 2..=8) => {
            return Err(invalid("true_number", format!("{n:?} is not a number of 2 to 8 digits")));
        }
        _ => {}
    }
    let key = key.into();
    conn.transaction(|conn| {
        let row = get(conn, key, owner)?;
        let (true_label, true_number) = match label {
            Label::Digit(d) => (d, None),
            Label::NotADigit => (NOT_A_DIGIT, None),
            Label::Number(n) if row.verdict == Verdict::SeveralDigits && n == row.number => (NUMBER_RIGHT, None),
            Label::Number(n) => (ANOTHER_NUMBER, Some(n)),
        };
        let now = Utc::now().naive_utc();
        diesel::update(predictions::table.find(row.id))
            .set((
                predictions::true_label.eq(Some(true_label)),
                predictions::true_number.eq(true_number),
                predictions::feedback_at.eq(Some(now)),
            ))
            .execute(conn)?;
        get(conn, row.id, None)
    })
}

/// Which predictions [`list`] returns: newest first, before a cursor.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only rows with an id below this (the previous page's last id).
    pub before: Option<i64>,
    /// Page size, 1-500.
    pub limit: i64,
    /// `Some(true)`: only rows with feedback; `Some(false)`: only rows without.
    pub has_feedback: Option<bool>,
    /// Only rows whose feedback says the prediction was wrong.
    pub wrong_only: bool,
    /// Only rows read as this class: a digit 0-9, or [`NOT_A_DIGIT`].
    pub digit: Option<i16>,
    /// Only rows whose feedback gave this class: a digit 0-9, or [`NOT_A_DIGIT`].
    pub true_label: Option<i16>,
    /// Only this owner's rows; `None` for everyone's.
    pub owner: Option<String>,
}

/// The most rows one [`list`] call returns.
pub const MAX_PAGE: i64 = 500;

/// One page of predictions, newest first (keyset pagination on the id, so
/// pages neither skip nor repeat rows while new ones arrive).
///
/// # Errors
/// [`StoreError::Invalid`] for a bad limit or digit, or a database error.
pub fn list(conn: &mut DbConnection, filter: &ListFilter) -> Result<Vec<Prediction>, StoreError> {
    check_limit(filter.limit)?;
    rows(conn, filter, filter.limit)
}

/// Like [`list`], and whether rows older than the page exist: a page that
/// is exactly full says so only when there are.
///
/// # Errors
/// As [`list`].
pub fn page(conn: &mut DbConnection, filter: &ListFilter) -> Result<(Vec<Prediction>, bool), StoreError> {
    check_limit(filter.limit)?;
    let mut rows = rows(conn, filter, filter.limit + 1)?;
    let more = rows.len() as i64 > filter.limit;
    rows.truncate(usize::try_from(filter.limit).unwrap_or(0));
    Ok((rows, more))
}

fn check_limit(limit: i64) -> Result<(), StoreError> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(())
    } else {
        Err(invalid("limit", format!("{limit} is outside 1-{MAX_PAGE}")))
    }
}

fn rows(conn: &mut DbConnection, filter: &ListFilter, fetch: i64) -> Result<Vec<Prediction>, StoreError> {
    use predictions::dsl;
    let mut query = dsl::predictions.into_boxed();
    if let Some(owner) = &filter.owner {
        if !storable(owner, 128) {
            return Ok(Vec::new());
        }
        query = query.filter(dsl::owner.eq(owner.clone()));
    }
    if let Some(before) = filter.before {
        query = query.filter(dsl::id.lt(before));
    }
    match filter.digit.map(|d| checks::class("digit", i64::from(d))).transpose()? {
        Some(NOT_A_DIGIT) => query = query.filter(dsl::verdict.eq(Verdict::NotADigit)),
        Some(digit) => query = query.filter(dsl::verdict.eq(Verdict::Digit).and(dsl::predicted_digit.eq(digit))),
        None => {}
    }
    if let Some(label) = filter.true_label {
        query = query.filter(dsl::true_label.eq(checks::class("true_label", i64::from(label))?));
    }
    if filter.wrong_only {
        // Wrong: a label other than the class read (the digit, not a digit
        // or a number, as the counts' triggers name it). One CASE rather than
        // an OR of the three verdicts: SQLite answers such an OR from the
        // (verdict, true_label, id) index and sorts every labelled row (0.6 s
        // at a million rows), where this reads the labelled ids newest first
        // and stops at a page.
        let class_read = case_when::<_, _, SmallInt>(dsl::verdict.eq(Verdict::Digit), dsl::predicted_digit)
            .when(dsl::verdict.eq(Verdict::NotADigit), NOT_A_DIGIT)
            .otherwise(NUMBER_RIGHT);
        query = query.filter(dsl::true_label.is_not_null().and(dsl::true_label.ne(class_read.nullable())));
    } else if let Some(has) = filter.has_feedback {
        query = if has { query.filter(dsl::true_label.is_not_null()) } else { query.filter(dsl::true_label.is_null()) };
    }
    Ok(query.order(dsl::id.desc()).limit(fetch).select(Prediction::as_select()).load(conn)?)
}

/// The classes of the confusion matrix: digits 0-9 and not a digit.
pub const CLASSES: usize = 11;

/// Accuracy figures over the predictions that have feedback.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    /// All predictions.
    pub total: i64,
    /// Predictions with feedback.
    pub labelled: i64,
    /// Labelled predictions that were right.
    pub correct: i64,
    /// `confusion[true][predicted]` over the digits and not a digit (10):
    /// labelled drawings read as one digit or as not a digit, and labelled so.
    pub confusion: [[i64; CLASSES]; CLASSES],
    /// Drawings read as a number that have feedback.
    pub numbers_labelled: i64,
    /// Of them, read right.
    pub numbers_right: i64,
}

impl Stats {
    /// `correct / labelled`, or `None` before any feedback.
    pub fn accuracy(&self) -> Option<f64> {
        (self.labelled > 0).then(|| self.correct as f64 / self.labelled as f64)
    }

    /// Of the labelled predictions of `class`, the share that were right
    /// (for not a digit: how often a rejection was right).
    pub fn precision(&self, class: usize) -> Option<f64> {
        let predicted: i64 = (0..CLASSES).map(|t| self.confusion[t][class]).sum();
        (predicted > 0).then(|| self.confusion[class][class] as f64 / predicted as f64)
    }

    /// Of the labelled drawings of `class`, the share read as `class`.
    pub fn recall(&self, class: usize) -> Option<f64> {
        let actual: i64 = self.confusion[class].iter().sum();
        (actual > 0).then(|| self.confusion[class][class] as f64 / actual as f64)
    }

    fn count(&mut self, predicted: i16, label: i16, n: i64) {
        self.total += n;
        if label < 0 {
            return;
        }
        self.labelled += n;
        if predicted == NUMBER_RIGHT {
            self.numbers_labelled += n;
            if label == NUMBER_RIGHT {
                self.numbers_right += n;
                self.correct += n;
            }
            return;
        }
        if let (Ok(p), Ok(t)) = (usize::try_from(predicted), usize::try_from(label))
            && p < CLASSES
            && t < CLASSES
        {
            self.confusion[t][p] += n;
            if t == p {
                self.correct += n;
            }
        }
    }
}

/// The stats over the predictions `owner` may see, overall and per model
/// version (sorted by version). They are read from `prediction_counts`,
/// which triggers keep in step with every write, so the cost does not grow
/// with the number of predictions.
///
/// # Errors
/// A database error.
pub fn stats(conn: &mut DbConnection, owner: Owner) -> Result<(Stats, Vec<(String, Stats)>), StoreError> {
    use crate::schema::prediction_counts::dsl;
    if owner.is_some_and(|o| !storable(o, 128)) {
        return Ok((Stats::default(), Vec::new()));
    }
    let counts: Vec<(String, i16, i16, i64)> = dsl::prediction_counts
        .filter(dsl::everyone.eq(owner.is_none()).and(dsl::owner.eq(owner.unwrap_or_default())))
        .filter(dsl::n.gt(0))
        .select((dsl::model_version, dsl::predicted_class, dsl::true_label, dsl::n))
        .load(conn)?;
    let mut by_version: std::collections::BTreeMap<String, Stats> = std::collections::BTreeMap::new();
    let mut overall = Stats::default();
    for (version, predicted, label, count) in counts {
        by_version.entry(version).or_default().count(predicted, label, count);
        overall.count(predicted, label, count);
    }
    Ok((overall, by_version.into_iter().collect()))
}

/// Up to `limit` labelled predictions with an id above `after`, oldest first:
/// the pages of an export for retraining. Only drawings of one digit or not a
/// digit are exported (a number's label is not one image's).
///
/// # Errors
/// A database error.
pub fn labelled_after(conn: &mut DbConnection, after: i64, limit: i64) -> Result<Vec<Prediction>, StoreError> {
    use predictions::dsl;
    Ok(dsl::predictions
        .filter(dsl::id.gt(after).and(dsl::true_label.le(NOT_A_DIGIT)))
        .filter(dsl::verdict.ne(Verdict::SeveralDigits))
        .order(dsl::id.asc())
        .limit(limit)
        .select(Prediction::as_select())
        .load(conn)?)
}

/// Deletes the predictions without feedback made before `cutoff`, at most
/// `batch` rows per statement so no lock is held for long; labelled ones are
/// kept for retraining. Returns how many were deleted.
///
/// # Errors
/// A database error.
pub fn forget_unlabelled_before(
    conn: &mut DbConnection,
    cutoff: NaiveDateTime,
    batch: i64,
) -> Result<usize, StoreError> {
    use predictions::dsl;
    let mut deleted = 0;
    loop {
        let ids: Vec<i64> = dsl::predictions
            .filter(dsl::true_label.is_null().and(dsl::created_at.lt(cutoff)))
            .select(dsl::id)
            .limit(batch)
            .load(conn)?;
        if ids.is_empty() {
            return Ok(deleted);
        }
        // Only rows still unlabelled: feedback may have arrived meanwhile.
        deleted += diesel::delete(dsl::predictions.filter(dsl::id.eq_any(&ids).and(dsl::true_label.is_null())))
            .execute(conn)?;
    }
}
