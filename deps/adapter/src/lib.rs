//! Empty: the crate exists only to pin its dependency (see Cargo.toml).
