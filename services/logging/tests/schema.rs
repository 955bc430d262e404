//! `sql/init_db.sql` (for hand-made or docker-entrypoint schemas) must build
//! exactly what the embedded migrations build, or the two have drifted.

use std::time::Duration;

use digits_test_postgres::TestDatabase;

/// Columns, constraints, indexes, triggers, functions and applied
/// migrations, as text.
const DESCRIBE: &str = "
SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' null=' || is_nullable || ' default=' || coalesce(column_default, '-')
  FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'
UNION ALL
SELECT 'constraint ' || conrelid::regclass::text || ' ' || contype::text || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE conrelid IN ('predictions'::regclass, 'prediction_counts'::regclass)
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'predictions'::regclass AND NOT tgisinternal
UNION ALL
SELECT 'function ' || proname || ' ' || md5(prosrc) FROM pg_proc WHERE pronamespace = 'public'::regnamespace
UNION ALL
SELECT 'migration ' || version FROM __diesel_schema_migrations
ORDER BY 1";

#[test]
fn init_db_sql_builds_the_same_schema_as_the_migrations() {
    let migrated = TestDatabase::new();
    digits_logging::db::pool(migrated.url(), 1, Duration::from_secs(5)).expect("migrations");
    let by_hand = TestDatabase::new();
    let script =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../sql/init_db.sql")).expect("init_db.sql");
    by_hand.psql(&script).expect("init_db.sql runs");

    let expected = migrated.psql(DESCRIBE).expect("describe");
    assert!(expected.lines().count() > 20, "{expected}");
    assert_eq!(by_hand.psql(DESCRIBE).expect("describe"), expected);

    // And the service accepts the hand-made schema as current.
    digits_logging::db::pool(by_hand.url(), 1, Duration::from_secs(5)).expect("no migration left to run");
}
