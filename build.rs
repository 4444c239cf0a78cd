//! `embed_migrations!` reads `migrations/` while the crate compiles, but cargo does
//! not watch that directory by itself: without this, a migration added or edited
//! after the last build is silently left out of the binary.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
