//! Rebuilds the crate when a migration is added or changed: `embed_migrations!`
//! reads `sql/migrations` at compile time, which cargo does not track by itself.

fn main() {
    println!("cargo:rerun-if-changed=../../sql/migrations");
}
