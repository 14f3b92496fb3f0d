#![no_main]
//! See bcrename::fuzzing::reader; the same function runs under cargo test
//! (tests/fuzz_smoke.rs).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bcrename::fuzzing::reader(data));
