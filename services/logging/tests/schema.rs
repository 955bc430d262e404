//! `sql/init_db.sql` (for hand-made or docker-entrypoint schemas) must build
//! exactly what the embedded migrations build, or the two have drifted.

use std::time::Duration;

use digits_test_postgres::TestDatabase;

/// Columns, constraints, indexes and applied migrations, as text.
const DESCRIBE: &str = "
SELECT 'column ' || column_name || ' ' || data_type || ' null=' || is_nullable || ' default=' || coalesce(column_default, '-')
  FROM information_schema.columns WHERE table_name = 'predictions'
UNION ALL
SELECT 'constraint ' || contype::text || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE conrelid = 'predictions'::regclass
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes WHERE tablename = 'predictions'
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
