//! `embed_migrations!` reads the migration folders at compile time, but cargo only tracks the
//! files it already knows: a new migration folder must trigger a rebuild too.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
