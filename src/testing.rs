//! Helpers for the unit tests.

/// A fixed pseudo-random sequence (xorshift64), for repeatable tests.
pub fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}
