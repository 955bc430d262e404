//! The prediction store against real databases: a throwaway PostgreSQL
//! database per test, and a SQLite file in a temporary folder. Every
//! behaviour is checked on both backends.

use std::time::Duration;

use chrono::Utc;
use digits_logging::db::{self, DbConnection, Pool};
use digits_logging::error::StoreError;
use digits_logging::predictions::{self, Label, ListFilter, NewPrediction, PredictionKey, Source, Verdict};
use digits_test_postgres::TestDatabase;
use digits_test_support::TempDir;

/// A fresh database of each backend; the guards keep them alive.
enum Backend {
    Postgres(TestDatabase),
    Sqlite(TempDir),
}

impl Backend {
    fn all() -> Vec<Self> {
        vec![Self::Postgres(TestDatabase::new()), Self::Sqlite(TempDir::new("store"))]
    }

    fn url(&self) -> String {
        match self {
            Self::Postgres(db) => db.url().to_owned(),
            Self::Sqlite(dir) => format!("sqlite://{}", dir.join("digits.db").display()),
        }
    }

    fn pool(&self) -> Pool {
        db::pool(&self.url(), 8, Duration::from_secs(5)).expect("pool and migrations")
    }
}

/// Makes one field of a valid prediction invalid.
type Breaker = fn(&mut NewPrediction);

fn sample(request_id: &str, digit: i16) -> NewPrediction {
    let mut probabilities = [0.0f32; 10];
    probabilities[digit as usize] = 0.9;
    probabilities[(digit as usize + 1) % 10] = 0.1;
    NewPrediction {
        request_id: request_id.to_owned(),
        created_at: Utc::now().naive_utc(),
        predicted_digit: digit,
        confidence: 0.9,
        probabilities: probabilities.iter().flat_map(|p| p.to_le_bytes()).collect(),
        model_version: "1.1.0".into(),
        input: vec![7; 784],
        source: Source::Web,
        latency_us: 1234,
        owner: "visitor-a".into(),
        verdict: Verdict::Digit,
        number: digit.to_string(),
        parts: None,
        revision: 0,
    }
}

fn count(conn: &mut DbConnection) -> i64 {
    use diesel::prelude::*;
    digits_logging::schema::predictions::table.count().get_result(conn).expect("count")
}

#[test]
fn logging_the_same_request_twice_stores_it_once() {
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        let (first, created) = predictions::log(&mut conn, &sample("req-1", 3)).expect("log");
        assert!(created);
        // A retry, even with different content, returns the stored row.
        let (again, created) = predictions::log(&mut conn, &sample("req-1", 5)).expect("log again");
        assert!(!created);
        assert_eq!(again, first);
        assert_eq!(first.predicted_digit, 3);
        assert_eq!(first.input, vec![7; 784]);
        assert_eq!(count(&mut conn), 1, "{}", backend.url());
    }
}

#[test]
fn each_source_is_stored_and_read_back_as_itself() {
    use diesel::RunQueryDsl;
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        for (i, source) in [Source::Web, Source::Grpc].into_iter().enumerate() {
            let new = NewPrediction { source, ..sample(&format!("src-{i}"), 4) };
            let (row, _) = predictions::log(&mut conn, &new).expect("log");
            assert_eq!(row.source, source, "{}", backend.url());
            let column = diesel::sql_query(format!("SELECT source AS name FROM predictions WHERE id = {}", row.id))
                .get_result::<SourceName>(&mut *conn)
                .expect("the column");
            assert_eq!(column.name, source.as_str());
        }
    }
}

#[derive(diesel::QueryableByName)]
struct SourceName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[test]
fn a_batch_is_stored_in_one_call_and_skips_what_is_already_stored() {
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        predictions::log(&mut conn, &sample("b-0", 1)).expect("log one first");
        // b-0 is stored already and b-3 comes twice: 5 distinct new rows.
        let batch: Vec<_> = ["b-0", "b-1", "b-2", "b-3", "b-3", "b-4", "b-5"].iter().map(|id| sample(id, 2)).collect();
        assert_eq!(predictions::log_many(&mut conn, batch.clone()).expect("batch").created, 5, "{}", backend.url());
        assert_eq!(count(&mut conn), 6);
        // A retry of the whole batch stores nothing and changes nothing.
        assert_eq!(predictions::log_many(&mut conn, batch).expect("retry").created, 0);
        assert_eq!(count(&mut conn), 6);
        let first = predictions::get(&mut conn, PredictionKey::RequestId("b-0".into()), None).expect("b-0");
        assert_eq!(first.predicted_digit, 1, "the first write of b-0 stands");
        assert_eq!(predictions::log_many(&mut conn, Vec::new()).expect("empty").created, 0);
    }
}

#[test]
fn concurrent_logging_stores_every_request_exactly_once() {
    for backend in Backend::all() {
        let pool = backend.pool();
        std::thread::scope(|scope| {
            for t in 0..8 {
                let pool = pool.clone();
                scope.spawn(move || {
                    for i in 0..25 {
                        let mut conn = pool.get().expect("connection");
                        // Every request is sent twice, by two threads.
                        let id = format!("req-{}", (t / 2) * 25 + i);
                        predictions::log(&mut conn, &sample(&id, (i % 10) as i16)).expect("log");
                    }
                });
            }
        });
        let mut conn = pool.get().expect("connection");
        assert_eq!(count(&mut conn), 100, "{}", backend.url());
    }
}

#[test]
fn feedback_is_stored_timestamped_and_a_correction_overwrites_it() {
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        let (row, _) = predictions::log(&mut conn, &sample("req-f", 4)).expect("log");
        assert_eq!(row.true_label, None);
        assert_eq!(row.feedback_at, None);
        let correct = predictions::record_feedback(&mut conn, row.id, None, Label::Digit(4)).expect("correct");
        assert_eq!(correct.true_label, Some(4));
        let first_time = correct.feedback_at.expect("timestamped");
        std::thread::sleep(Duration::from_millis(5));
        let corrected = predictions::record_feedback(&mut conn, row.id, None, Label::Digit(9)).expect("correction");
        assert_eq!(corrected.true_label, Some(9));
        assert!(corrected.feedback_at.expect("timestamped") > first_time);
        assert_eq!(predictions::get(&mut conn, row.id, None).expect("get"), corrected);
    }
}

#[test]
fn unknown_ids_and_bad_labels_are_errors_and_change_nothing() {
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        let (row, _) = predictions::log(&mut conn, &sample("req-x", 1)).expect("log");
        assert!(matches!(predictions::get(&mut conn, 999_999, None), Err(StoreError::NotFound(_))));
        assert!(matches!(
            predictions::record_feedback(&mut conn, 999_999, None, Label::Digit(3)),
            Err(StoreError::NotFound(_))
        ));
        for label in [-1, 10] {
            assert!(matches!(
                predictions::record_feedback(&mut conn, row.id, None, Label::Digit(label)),
                Err(StoreError::Invalid { field: "true_label", .. })
            ));
        }
        assert_eq!(predictions::get(&mut conn, row.id, None).expect("get"), row);
    }
}

#[test]
fn invalid_predictions_are_refused_by_the_api_and_by_the_database() {
    use diesel::RunQueryDsl;
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        // (A bad source cannot be built: it is a `Source`; the database's
        // own check is tried below.)
        let cases: [(&str, Breaker); 6] = [
            ("predicted_digit", |p| p.predicted_digit = 10),
            ("confidence", |p| p.confidence = 1.5),
            ("probabilities", |p| p.probabilities.truncate(39)),
            ("input", |p| p.input.push(0)),
            ("request_id", |p| p.request_id.clear()),
            ("latency_us", |p| p.latency_us = -1),
        ];
        for (field, break_it) in &cases {
            let mut bad = sample(&format!("bad-{field}"), 2);
            break_it(&mut bad);
            // The API names the field ...
            match predictions::log(&mut conn, &bad) {
                Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, *field),
                other => panic!("{field}: {other:?}"),
            }
            // ... and the database refuses the row even when the API is bypassed.
            let direct =
                diesel::insert_into(digits_logging::schema::predictions::table).values(&bad).execute(&mut *conn);
            assert!(direct.is_err(), "{field} accepted by {}", backend.url());
        }
        let (row, _) = predictions::log(&mut conn, &sample("good", 2)).expect("log");
        for (update, case) in [
            ("true_label = 13, feedback_at = created_at", "label 13"),
            ("true_label = 12, feedback_at = created_at", "another number without the number"),
            ("true_label = 3, true_number = '42', feedback_at = created_at", "a number with a digit label"),
            ("number = '7'", "a number that is not the digit read"),
            ("verdict = 'several_digits'", "a number of one digit"),
            ("verdict = 'not_a_digit'", "no digit with a number"),
            ("verdict = 'maybe'", "an unknown verdict"),
            ("number = '4x'", "a number with a letter"),
        ] {
            let bypass =
                diesel::sql_query(format!("UPDATE predictions SET {update} WHERE id = {}", row.id)).execute(&mut *conn);
            assert!(bypass.is_err(), "{case} accepted by {}", backend.url());
        }
        let half = diesel::sql_query(format!("UPDATE predictions SET true_label = 3 WHERE id = {}", row.id))
            .execute(&mut *conn);
        assert!(half.is_err(), "a label without its timestamp accepted by {}", backend.url());
        let fax = diesel::sql_query(format!("UPDATE predictions SET source = 'fax' WHERE id = {}", row.id))
            .execute(&mut *conn);
        assert!(fax.is_err(), "source 'fax' accepted by {}", backend.url());
        assert_eq!(count(&mut conn), 1);
    }
}

#[test]
fn the_backend_follows_the_url_scheme() {
    use digits_logging::db::DatabaseUrl;
    assert!(matches!(DatabaseUrl::parse("postgres://u@h/db"), DatabaseUrl::Postgres(_)));
    assert!(matches!(DatabaseUrl::parse("postgresql://u@h/db"), DatabaseUrl::Postgres(_)));
    assert_eq!(DatabaseUrl::parse("sqlite:///tmp/x.db"), DatabaseUrl::Sqlite("/tmp/x.db".into()));
    assert_eq!(DatabaseUrl::parse("sqlite:data/x.db"), DatabaseUrl::Sqlite("data/x.db".into()));
    assert_eq!(DatabaseUrl::parse("digits.db"), DatabaseUrl::Sqlite("digits.db".into()));
    // An unreachable PostgreSQL is an error, never a SQLite file named like the URL.
    let err = DatabaseUrl::parse("postgres://nobody@127.0.0.1:1/none").connect().err().expect("unreachable");
    assert!(matches!(err, StoreError::Unavailable(_)));
}

#[test]
fn pages_have_no_gaps_and_no_repeats_while_rows_arrive() {
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        let mut expected = Vec::new();
        for i in 0..53 {
            expected.push(predictions::log(&mut conn, &sample(&format!("p-{i}"), (i % 10) as i16)).expect("log").0.id);
        }
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page =
                predictions::list(&mut conn, &ListFilter { before, limit: 10, ..Default::default() }).expect("page");
            // New predictions between pages must not shift the pages.
            predictions::log(&mut conn, &sample(&format!("late-{}", seen.len()), 0)).expect("log");
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            seen.extend(page.iter().map(|p| p.id));
        }
        expected.reverse();
        assert_eq!(seen, expected, "{}", backend.url());
        let bad = predictions::list(&mut conn, &ListFilter { limit: 0, ..Default::default() });
        assert!(matches!(bad, Err(StoreError::Invalid { field: "limit", .. })));
    }
}

#[test]
fn list_filters_by_digit_feedback_and_wrongness() {
    use predictions::ListFilter;
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        let ids: Vec<i64> = (0..6)
            .map(|i| predictions::log(&mut conn, &sample(&format!("f-{i}"), [1, 1, 2, 2, 3, 3][i])).expect("log").0.id)
            .collect();
        predictions::record_feedback(&mut conn, ids[0], None, Label::Digit(1)).expect("right");
        predictions::record_feedback(&mut conn, ids[2], None, Label::Digit(7)).expect("wrong");
        predictions::record_feedback(&mut conn, ids[5], None, Label::Digit(8)).expect("wrong");
        // SQLite's pool holds one connection: give it back.
        drop(conn);
        let list = |f: ListFilter| -> Vec<i64> {
            predictions::list(&mut pool.get().expect("c"), &ListFilter { limit: 100, ..f })
                .expect("list")
                .iter()
                .map(|p| p.id)
                .collect()
        };
        assert_eq!(list(ListFilter { digit: Some(2), ..Default::default() }), vec![ids[3], ids[2]]);
        assert_eq!(list(ListFilter { wrong_only: true, ..Default::default() }), vec![ids[5], ids[2]]);
        assert_eq!(list(ListFilter { has_feedback: Some(true), ..Default::default() }), vec![ids[5], ids[2], ids[0]]);
        assert_eq!(list(ListFilter { has_feedback: Some(false), ..Default::default() }), vec![ids[4], ids[3], ids[1]]);
        assert_eq!(list(ListFilter { digit: Some(3), wrong_only: true, ..Default::default() }), vec![ids[5]]);
    }
}

#[test]
fn wrong_only_lists_every_kind_of_wrong_reading() {
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        let rejected = |id: &str| NewPrediction { verdict: Verdict::NotADigit, number: String::new(), ..sample(id, 0) };
        let number = |id: &str| NewPrediction { verdict: Verdict::SeveralDigits, number: "42".into(), ..sample(id, 4) };
        let cases = [
            (sample("a 4 that was no digit", 4), Some(Label::NotADigit), true),
            (rejected("rightly rejected"), Some(Label::NotADigit), false),
            (rejected("a rejected 3"), Some(Label::Digit(3)), true),
            (number("42 read right"), Some(Label::Number("42".into())), false),
            (number("47 read as 42"), Some(Label::Number("47".into())), true),
            (sample("a 5 read right", 5), Some(Label::Digit(5)), false),
            (sample("unlabelled", 6), None, false),
        ];
        let mut wrong = Vec::new();
        for (row, label, is_wrong) in cases {
            let id = predictions::log(&mut conn, &row).expect("log").0.id;
            if let Some(label) = label {
                predictions::record_feedback(&mut conn, id, None, label).expect("feedback");
            }
            if is_wrong {
                wrong.insert(0, id);
            }
        }
        let listed: Vec<i64> =
            predictions::list(&mut conn, &ListFilter { wrong_only: true, limit: 100, ..Default::default() })
                .expect("list")
                .iter()
                .map(|p| p.id)
                .collect();
        assert_eq!(listed, wrong, "{}", backend.url());
    }
}

#[test]
fn stats_match_a_hand_computed_confusion_matrix() {
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        // (model version, predicted, true label or none)
        let rows: [(&str, i16, Option<i16>); 9] = [
            ("1.0.0", 3, Some(3)),
            ("1.0.0", 3, Some(8)),
            ("1.0.0", 8, Some(8)),
            ("1.0.0", 5, None),
            ("1.1.0", 3, Some(3)),
            ("1.1.0", 3, Some(3)),
            ("1.1.0", 7, Some(1)),
            ("1.1.0", 1, Some(1)),
            ("1.1.0", 0, None),
        ];
        for (i, (version, predicted, label)) in rows.iter().enumerate() {
            let mut new = sample(&format!("s-{i}"), *predicted);
            new.model_version = (*version).to_owned();
            let (row, _) = predictions::log(&mut conn, &new).expect("log");
            if let Some(label) = label {
                predictions::record_feedback(&mut conn, row.id, None, Label::Digit(*label)).expect("feedback");
            }
        }
        let (all, by_version) = predictions::stats(&mut conn, None).expect("stats");
        assert_eq!((all.total, all.labelled, all.correct), (9, 7, 5));
        assert_eq!(all.accuracy(), Some(5.0 / 7.0));
        let mut expected = [[0i64; 11]; 11];
        expected[3][3] = 3; // true 3, predicted 3
        expected[8][3] = 1; // true 8, predicted 3
        expected[8][8] = 1;
        expected[1][7] = 1; // true 1, predicted 7
        expected[1][1] = 1;
        assert_eq!(all.confusion, expected);
        assert_eq!(all.precision(3), Some(3.0 / 4.0));
        assert_eq!(all.recall(8), Some(1.0 / 2.0));
        assert_eq!(all.recall(1), Some(1.0 / 2.0));
        assert_eq!(all.precision(7), Some(0.0));
        assert_eq!(all.precision(5), None, "no labelled 5 predictions");

        let versions: Vec<&str> = by_version.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(versions, ["1.0.0", "1.1.0"]);
        let (old, new) = (&by_version[0].1, &by_version[1].1);
        assert_eq!((old.total, old.labelled, old.correct), (4, 3, 2));
        assert_eq!((new.total, new.labelled, new.correct), (5, 4, 3));
        assert_eq!(new.confusion[1][7], 1);
    }
}

#[test]
fn labelled_rows_come_in_pages_for_export() {
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        let mut labelled = Vec::new();
        for i in 0..25 {
            let (row, _) = predictions::log(&mut conn, &sample(&format!("e-{i}"), (i % 10) as i16)).expect("log");
            if i % 3 != 0 {
                predictions::record_feedback(&mut conn, row.id, None, Label::Digit(((i + 1) % 10) as i16))
                    .expect("feedback");
                labelled.push(row.id);
            }
        }
        let mut exported = Vec::new();
        let mut after = 0;
        loop {
            let page = predictions::labelled_after(&mut conn, after, 4).expect("page");
            let Some(last) = page.last() else { break };
            after = last.id;
            assert!(page.iter().all(|p| p.true_label.is_some() && p.input.len() == 784));
            exported.extend(page.iter().map(|p| p.id));
        }
        assert_eq!(exported, labelled);
    }
}

#[test]
fn later_revisions_of_a_drawing_replace_its_reading_until_feedback_makes_it_final() {
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        let (first, _) = predictions::log(&mut conn, &sample("drawing", 6)).expect("log");
        let revision =
            |digit, revision| NewPrediction { revision, input: vec![digit as u8; 784], ..sample("drawing", digit) };

        // The pen rests twice more: the row follows the drawing.
        let logged = predictions::log_many(&mut conn, vec![revision(4, 2), revision(1, 1)]).expect("log");
        assert_eq!(logged.created, 0);
        let row = predictions::get(&mut conn, first.id, None).expect("row");
        assert_eq!((row.predicted_digit, row.revision, row.input[0]), (4, 2, 4), "a late revision 1 changes nothing");
        assert_eq!(row.created_at, first.created_at, "the drawing keeps its first time");
        // A retry of revision 2, and another owner's revision 3, change nothing.
        predictions::log(&mut conn, &revision(8, 2)).expect("retry");
        predictions::log(&mut conn, &NewPrediction { owner: "visitor-b".into(), ..revision(9, 3) }).expect("stranger");
        assert_eq!(predictions::get(&mut conn, first.id, None).expect("row").predicted_digit, 4);
        assert_eq!(count(&mut conn), 1);
        let (stats, _) = predictions::stats(&mut conn, Some("visitor-a")).expect("stats");
        assert_eq!(stats.total, 1, "one drawing is counted once");

        // Feedback makes it final: a later revision changes nothing.
        predictions::record_feedback(&mut conn, first.id, Some("visitor-a"), Label::Digit(4)).expect("feedback");
        predictions::log(&mut conn, &revision(7, 5)).expect("late");
        let row = predictions::get(&mut conn, first.id, None).expect("row");
        assert_eq!((row.predicted_digit, row.revision, row.true_label), (4, 2, Some(4)), "{}", backend.url());
        let (stats, _) = predictions::stats(&mut conn, Some("visitor-a")).expect("stats");
        assert_eq!((stats.total, stats.labelled, stats.correct), (1, 1, 1));
        assert_eq!(stats.confusion[4][4], 1);

        // A revision whose first reading was never stored is stored as it is.
        let (orphan, created) =
            predictions::log(&mut conn, &NewPrediction { revision: 3, ..sample("orphan", 2) }).expect("log");
        assert!(created);
        assert_eq!(orphan.revision, 3);
    }
}

#[test]
fn an_owner_deletes_its_own_prediction_and_nobody_elses() {
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        let (mine, _) = predictions::log(&mut conn, &sample("mine", 2)).expect("log");
        predictions::record_feedback(&mut conn, mine.id, None, Label::Digit(3)).expect("feedback");
        let (theirs, _) =
            predictions::log(&mut conn, &NewPrediction { owner: "visitor-b".into(), ..sample("theirs", 5) })
                .expect("log");
        let me = Some("visitor-a");
        let key = |id: &str| PredictionKey::RequestId(id.to_owned());

        let refused = predictions::delete(&mut conn, key("theirs"), me);
        assert!(matches!(refused, Err(StoreError::NotFound(_))), "{refused:?}");
        predictions::delete(&mut conn, key("mine"), me).expect("own");
        assert!(matches!(predictions::get(&mut conn, mine.id, None), Err(StoreError::NotFound(_))));
        assert!(matches!(predictions::delete(&mut conn, key("mine"), me), Err(StoreError::NotFound(_))));
        assert_eq!(predictions::get(&mut conn, theirs.id, None).expect("still there").owner, "visitor-b");
        let (own, _) = predictions::stats(&mut conn, me).expect("stats");
        assert_eq!((own.total, own.labelled, own.confusion[3][2]), (0, 0, 0), "{}", backend.url());
        let (all, _) = predictions::stats(&mut conn, None).expect("stats");
        assert_eq!(all.total, 1);
    }
}

#[test]
fn an_owner_sees_and_labels_only_its_own_predictions() {
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        let (mine, _) = predictions::log(&mut conn, &sample("mine", 2)).expect("log");
        let theirs = NewPrediction { owner: "visitor-b".into(), ..sample("theirs", 5) };
        let (theirs, _) = predictions::log(&mut conn, &theirs).expect("log");
        let me = Some("visitor-a");

        assert_eq!(predictions::get(&mut conn, mine.id, me).expect("own").owner, "visitor-a");
        // Someone else's prediction does not exist for me, by id or by request id...
        assert!(matches!(predictions::get(&mut conn, theirs.id, me), Err(StoreError::NotFound(_))));
        let by_request_id = predictions::PredictionKey::RequestId("theirs".into());
        assert!(matches!(predictions::get(&mut conn, by_request_id.clone(), me), Err(StoreError::NotFound(_))));
        // ...and my feedback cannot touch it.
        let refused = predictions::record_feedback(&mut conn, by_request_id, me, Label::Digit(1));
        assert!(matches!(refused, Err(StoreError::NotFound(_))), "{refused:?}");
        assert_eq!(predictions::get(&mut conn, theirs.id, None).expect("admin").true_label, None);
        predictions::record_feedback(&mut conn, mine.id, me, Label::Digit(2)).expect("own feedback");

        let listed = predictions::list(
            &mut conn,
            &ListFilter { limit: 10, owner: Some("visitor-a".into()), ..Default::default() },
        )
        .expect("list");
        assert_eq!(listed.iter().map(|p| p.id).collect::<Vec<_>>(), vec![mine.id]);
        let everyone = predictions::list(&mut conn, &ListFilter { limit: 10, ..Default::default() }).expect("list");
        assert_eq!(everyone.len(), 2);
        let (own, _) = predictions::stats(&mut conn, me).expect("stats");
        assert_eq!((own.total, own.labelled, own.correct), (1, 1, 1), "{}", backend.url());
        let (all, _) = predictions::stats(&mut conn, None).expect("stats");
        assert_eq!(all.total, 2);
        let (nobody, _) = predictions::stats(&mut conn, Some("visitor-c")).expect("stats");
        assert_eq!(nobody.total, 0);
    }
}

#[test]
fn ids_and_owners_no_database_can_hold_are_simply_not_found() {
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        predictions::log(&mut conn, &sample("real", 1)).expect("log");
        for bad in ["nul\0byte", "", &"x".repeat(129)] {
            let key = predictions::PredictionKey::RequestId(bad.to_owned());
            assert!(matches!(predictions::get(&mut conn, key.clone(), None), Err(StoreError::NotFound(_))), "{bad:?}");
            let feedback = predictions::record_feedback(&mut conn, key, Some(bad), Label::Digit(3));
            assert!(matches!(feedback, Err(StoreError::NotFound(_))), "{bad:?} {}", backend.url());
            let listed = predictions::list(
                &mut conn,
                &ListFilter { limit: 5, owner: Some(bad.to_owned()), ..Default::default() },
            );
            assert_eq!(listed.expect("list").len(), 0);
        }
        let nul_owner = NewPrediction { owner: "a\0b".into(), ..sample("nul-owner", 1) };
        assert!(matches!(predictions::log(&mut conn, &nul_owner), Err(StoreError::Invalid { field: "owner", .. })));
    }
}

#[test]
fn retention_deletes_only_old_unlabelled_predictions() {
    for backend in Backend::all() {
        let pool = backend.pool();
        let mut conn = pool.get().expect("connection");
        let old = Utc::now().naive_utc() - chrono::Duration::days(40);
        let (old_labelled, _) =
            predictions::log(&mut conn, &NewPrediction { created_at: old, ..sample("old-labelled", 3) }).expect("log");
        predictions::record_feedback(&mut conn, old_labelled.id, None, Label::Digit(3)).expect("label");
        predictions::log(&mut conn, &NewPrediction { created_at: old, ..sample("old-unlabelled", 4) }).expect("log");
        for i in 0..5 {
            let created_at = old + chrono::Duration::seconds(i);
            predictions::log(&mut conn, &NewPrediction { created_at, ..sample(&format!("old-{i}"), 4) }).expect("log");
        }
        predictions::log(&mut conn, &sample("recent", 5)).expect("log");
        drop(conn);

        let deleted = digits_logging::retention::sweep(&pool, Duration::from_secs(30 * 86_400)).expect("sweep");
        assert_eq!(deleted, 6, "{}", backend.url());
        let mut conn = pool.get().expect("connection");
        let left: Vec<String> = predictions::list(&mut conn, &ListFilter { limit: 10, ..Default::default() })
            .expect("list")
            .into_iter()
            .map(|p| p.request_id)
            .collect();
        drop(conn);
        assert_eq!(left, vec!["recent".to_owned(), "old-labelled".to_owned()]);
        assert_eq!(digits_logging::retention::sweep(&pool, Duration::from_secs(30 * 86_400)).expect("again"), 0);
    }
}

#[test]
fn replicas_starting_together_on_an_empty_database_all_migrate_cleanly() {
    let database = TestDatabase::new();
    std::thread::scope(|scope| {
        let starts: Vec<_> =
            (0..4).map(|_| scope.spawn(|| db::pool(database.url(), 2, Duration::from_secs(30)).map(|_| ()))).collect();
        for start in starts {
            start.join().expect("thread").expect("every replica starts");
        }
    });
    let applied = database.psql("SELECT count(*) FROM __diesel_schema_migrations").expect("psql");
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../sql/migrations/postgres"))
        .expect("migrations")
        .count();
    assert_eq!(applied.trim(), migrations.to_string());
}

/// The statistics straight from `predictions`, by a full scan: what the
/// counts the triggers keep must always equal.
type Figures = (i64, i64, i64, [[i64; 11]; 11], i64, i64);

fn scanned_stats(conn: &mut DbConnection, owner: Option<&str>) -> Figures {
    use diesel::prelude::*;
    use digits_logging::schema::predictions::dsl;
    let mut query = dsl::predictions.select((dsl::verdict, dsl::predicted_digit, dsl::true_label)).into_boxed();
    if let Some(owner) = owner {
        query = query.filter(dsl::owner.eq(owner.to_owned()));
    }
    let rows: Vec<(Verdict, i16, Option<i16>)> = query.load(conn).expect("scan");
    let (mut labelled, mut correct, mut confusion) = (0, 0, [[0i64; 11]; 11]);
    let (mut numbers, mut numbers_right) = (0, 0);
    for (verdict, digit, label) in &rows {
        let Some(label) = *label else { continue };
        labelled += 1;
        match verdict {
            Verdict::SeveralDigits => {
                numbers += 1;
                numbers_right += i64::from(label == predictions::NUMBER_RIGHT);
                correct += i64::from(label == predictions::NUMBER_RIGHT);
            }
            _ => {
                let read = if *verdict == Verdict::NotADigit { predictions::NOT_A_DIGIT } else { *digit };
                correct += i64::from(label == read);
                if label <= predictions::NOT_A_DIGIT {
                    confusion[label as usize][read as usize] += 1;
                }
            }
        }
    }
    (rows.len() as i64, labelled, correct, confusion, numbers, numbers_right)
}

fn counted_stats(conn: &mut DbConnection, owner: Option<&str>) -> Figures {
    let (stats, by_version) = predictions::stats(conn, owner).expect("stats");
    let summed: i64 = by_version.iter().map(|(_, s)| s.total).sum();
    assert_eq!(summed, stats.total, "the versions add up to the whole");
    (stats.total, stats.labelled, stats.correct, stats.confusion, stats.numbers_labelled, stats.numbers_right)
}

/// A row of any verdict, by `kind`: 0-7 one digit, 8 not a digit, 9 a number.
fn any_verdict(request_id: &str, kind: u64, digit: i16) -> NewPrediction {
    match kind {
        8 => NewPrediction { verdict: Verdict::NotADigit, number: String::new(), ..sample(request_id, digit) },
        9 => {
            NewPrediction { verdict: Verdict::SeveralDigits, number: format!("{digit}2"), ..sample(request_id, digit) }
        }
        _ => sample(request_id, digit),
    }
}

/// A label of any kind, by `kind`: 0-6 a digit, 7 not a digit, 8 the number
/// "42", 9 the number "12" (right for a number read from digit 1).
fn any_label(kind: u64, digit: i16) -> Label {
    match kind {
        7 => Label::NotADigit,
        8 => Label::Number("42".into()),
        9 => Label::Number("12".into()),
        _ => Label::Digit(digit),
    }
}

#[test]
fn the_counts_behind_the_stats_follow_every_insert_feedback_and_deletion() {
    let owners = ["visitor-a", "visitor-b", ""];
    for backend in Backend::all() {
        let pool = backend.pool();
        // Four writers at once: batches, single logs, labels and
        // corrections, from several owners and model versions.
        std::thread::scope(|scope| {
            for writer in 0..4u64 {
                let pool = pool.clone();
                scope.spawn(move || {
                    let mut conn = pool.get().expect("connection");
                    let mut seed = writer * 7919 + 1;
                    let mut next = move |n: u64| {
                        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                        (seed >> 33) % n
                    };
                    for round in 0..15 {
                        let batch: Vec<NewPrediction> = (0..20)
                            .map(|i| NewPrediction {
                                owner: owners[next(3) as usize].to_owned(),
                                model_version: ["1.0.0", "1.1.0"][next(2) as usize].to_owned(),
                                created_at: Utc::now().naive_utc() - chrono::Duration::days(next(2) as i64 * 60),
                                ..any_verdict(&format!("w{writer}-r{round}-{i}"), next(10), next(10) as i16)
                            })
                            .collect();
                        predictions::log_many(&mut conn, batch.clone()).expect("batch");
                        // A retried batch changes nothing.
                        predictions::log_many(&mut conn, batch[..5].to_vec()).expect("retry");
                        predictions::log(&mut conn, &sample(&format!("w{writer}-r{round}-single"), 4)).expect("log");
                        for i in 0..8 {
                            let key = PredictionKey::RequestId(format!("w{writer}-r{round}-{}", next(20)));
                            let label = if i % 3 == 0 { Label::Digit(4) } else { any_label(next(10), next(10) as i16) };
                            predictions::record_feedback(&mut conn, key, None, label).expect("feedback");
                        }
                    }
                });
            }
        });
        let mut conn = pool.get().expect("connection");
        for scope in [None, Some("visitor-a"), Some("visitor-b"), Some("nobody-here")] {
            assert_eq!(counted_stats(&mut conn, scope), scanned_stats(&mut conn, scope), "{scope:?} {}", backend.url());
        }
        assert_eq!(counted_stats(&mut conn, None).0, 4 * 15 * 21);

        drop(conn);
        let deleted = digits_logging::retention::sweep(&pool, Duration::from_secs(30 * 86_400)).expect("sweep");
        assert!(deleted > 100, "about half of the unlabelled rows are old: {deleted}");
        let mut conn = pool.get().expect("connection");
        for scope in [None, Some("visitor-a"), Some("visitor-b")] {
            assert_eq!(counted_stats(&mut conn, scope), scanned_stats(&mut conn, scope), "{scope:?} after retention");
        }
        assert_eq!(counted_stats(&mut conn, None).0, 4 * 15 * 21 - deleted as i64);
    }
}

#[test]
fn upgrading_counts_the_predictions_stored_before_the_counts_existed() {
    use diesel::connection::SimpleConnection;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../sql/migrations");
    let (postgres, dir) = (TestDatabase::new(), TempDir::new("store-upgrade"));
    let backends =
        [("postgres", postgres.url().to_owned()), ("sqlite", format!("sqlite://{}", dir.join("old.db").display()))];
    for (name, url) in &backends {
        // The schema as it was before the counts: the first two migrations.
        let mut conn = db::DatabaseUrl::parse(url).connect().expect("connect");
        for migration in ["2026-11-26-000001_create_predictions", "2026-11-27-000001_add_owner"] {
            let sql = std::fs::read_to_string(format!("{root}/{name}/{migration}/up.sql")).expect("migration");
            conn.batch_execute(&sql).expect("old migration");
        }
        conn.batch_execute(
            "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, \
             run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP); \
             INSERT INTO __diesel_schema_migrations (version) VALUES ('20261126000001'), ('20261127000001');",
        )
        .expect("applied");
        for i in 0..30 {
            // Only the columns of the old schema.
            use diesel::ExpressionMethods;
            use digits_logging::schema::predictions::dsl;
            let new = sample(&format!("old-{i}"), (i % 10) as i16);
            let row = (
                dsl::request_id.eq(new.request_id),
                dsl::created_at.eq(new.created_at),
                dsl::predicted_digit.eq(new.predicted_digit),
                dsl::confidence.eq(new.confidence),
                dsl::probabilities.eq(new.probabilities),
                dsl::model_version.eq(new.model_version),
                dsl::input.eq(new.input),
                dsl::source.eq(new.source),
                dsl::latency_us.eq(new.latency_us),
                dsl::owner.eq(["a", "b"][i % 2]),
            );
            diesel::RunQueryDsl::execute(diesel::insert_into(dsl::predictions).values(row), &mut conn)
                .expect("old row");
        }
        conn.batch_execute("UPDATE predictions SET true_label = 3, feedback_at = created_at WHERE id % 4 = 0")
            .expect("old labels");
        drop(conn);

        let mut conn = db::pool(url, 1, Duration::from_secs(5)).expect("upgrade").get().expect("connection");
        for scope in [None, Some("a"), Some("b")] {
            assert_eq!(counted_stats(&mut conn, scope), scanned_stats(&mut conn, scope), "{name} {scope:?}");
        }
        assert_eq!(counted_stats(&mut conn, None).0, 30, "{name}");
        // The old rows are single digits, each its own number, and keep their labels.
        let old = predictions::get(&mut conn, PredictionKey::RequestId("old-3".into()), None).expect("old row");
        assert_eq!((old.verdict, old.number.as_str(), old.true_label), (Verdict::Digit, "3", Some(3)), "{name}");
    }
}
