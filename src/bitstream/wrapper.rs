//! Locating the bitstream in a file: raw, or inside the Darwin-style wrapper.
//!
//! The wrapper is five little-endian u32 — magic `0x0B17C0DE`, version,
//! offset, size, cputype — and the bitstream lies at `[offset, offset+size)`.

use std::ops::Range;

use crate::error::{Error, Result};

/// Magic bytes of an LLVM IR bitstream ("BC" 0xC0DE).
pub const RAW_MAGIC: [u8; 4] = [0x42, 0x43, 0xC0, 0xDE];
/// Magic bytes of the wrapper header.
pub const WRAPPER_MAGIC: [u8; 4] = [0xDE, 0xC0, 0x17, 0x0B];
/// Size of the wrapper header in bytes.
pub const WRAPPER_HEADER_LEN: usize = 20;

/// The wrapper header's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wrapper {
    pub version: u32,
    pub offset: u32,
    pub size: u32,
    pub cputype: u32,
}

/// True if `data` starts like a bitcode file (raw or wrapped).
pub fn looks_like_bitcode(data: &[u8]) -> bool {
    data.starts_with(&RAW_MAGIC) || data.starts_with(&WRAPPER_MAGIC)
}

fn le32(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(data[at..at + 4].try_into().unwrap())
}

/// The wrapper (if any) and the byte range of the bitstream in a file of
/// `len` bytes that starts with `head` (the whole file, or its first
/// bytes: a wrapper header must be among them). Nothing about the stream
/// itself is checked ([`locate`] does that).
///
/// # Errors
/// As [`locate`], for the wrapper.
pub fn stream_range(head: &[u8], len: usize) -> Result<(Option<Wrapper>, Range<usize>)> {
    if !head.starts_with(&WRAPPER_MAGIC) {
        return Ok((None, 0..len));
    }
    if head.len() < WRAPPER_HEADER_LEN {
        return Err(Error::parse(
            head.len() as u64 * 8,
            format!(
                "wrapper header truncated: {} of {WRAPPER_HEADER_LEN} bytes",
                head.len()
            ),
        ));
    }
    let w = Wrapper {
        version: le32(head, 4),
        offset: le32(head, 8),
        size: le32(head, 12),
        cputype: le32(head, 16),
    };
    let start = w.offset as usize;
    let end = start.checked_add(w.size as usize).filter(|&e| e <= len);
    let Some(end) = end.filter(|_| start >= WRAPPER_HEADER_LEN) else {
        return Err(Error::parse(
            64,
            format!(
                "wrapper says the bitcode is at offset {} size {}, outside the {len}-byte file",
                w.offset, w.size,
            ),
        ));
    };
    Ok((Some(w), start..end))
}

/// Finds the bitstream: the wrapper (if any) and the byte range of the
/// stream, which starts with [`RAW_MAGIC`] and whose length is a multiple of 4.
///
/// # Errors
/// A parse error (at the offending field) when the data is not bitcode, the
/// wrapper points outside the file, or the stream length is not a multiple of 4.
pub fn locate(data: &[u8]) -> Result<(Option<Wrapper>, Range<usize>)> {
    let (wrapper, range) = stream_range(data, data.len())?;
    let stream = &data[range.clone()];
    if !stream.starts_with(&RAW_MAGIC) {
        let what = if stream.len() < 4 {
            "file too short to be bitcode"
        } else {
            "not LLVM bitcode (bad magic number)"
        };
        return Err(Error::parse(range.start as u64 * 8, what));
    }
    if stream.len() % 4 != 0 {
        return Err(Error::parse(
            range.end as u64 * 8,
            format!(
                "bitcode size {} is not a multiple of 4 bytes (truncated?)",
                stream.len()
            ),
        ));
    }
    Ok((wrapper, range))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_wrapped() {
        let raw = [0x42, 0x43, 0xC0, 0xDE, 0, 0, 0, 0];
        assert_eq!(locate(&raw).unwrap(), (None, 0..8));
        let mut wrapped = Vec::new();
        for v in [0x0B17C0DEu32, 0, 20, 8, 7] {
            wrapped.extend_from_slice(&v.to_le_bytes());
        }
        wrapped.extend_from_slice(&raw);
        wrapped.extend_from_slice(&[0; 4]);
        let (w, r) = locate(&wrapped).unwrap();
        assert_eq!(w.unwrap().cputype, 7);
        assert_eq!(r, 20..28);
        wrapped[12] = 200;
        assert!(locate(&wrapped)
            .unwrap_err()
            .to_string()
            .contains("outside"));
    }

    #[test]
    fn rejects_non_bitcode_and_odd_sizes() {
        assert!(locate(b"\x7fELF....").is_err());
        assert!(locate(&[0x42, 0x43]).is_err());
        assert!(locate(&[0x42, 0x43, 0xC0, 0xDE, 0])
            .unwrap_err()
            .to_string()
            .contains("multiple of 4"));
    }
}
