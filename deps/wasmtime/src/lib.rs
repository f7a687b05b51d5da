//! Re-exports wasmtime's C API so that the `staticlib` this crate produces
//! carries every `wasm_*` / `wasmtime_*` symbol the ward host links against.
pub use wasmtime_c_api::*;
