//! A textual dump of a whole bitstream, one line per block boundary, record
//! and abbreviation definition, in the order of `llvm-bcanalyzer -dump`:
//!
//! ```text
//! WRAPPER version=0 offset=20 size=2548 cputype=16777223
//! BLOCK 8 words=780 width=3
//!   RECORD 1: 2
//!   BLOCKINFO words=40
//!   RECORD 16 abbrev=5: 109 97 105 110 46 99
//!   RECORD 1 abbrev=4 blob=280
//! END 8
//! ```
//!
//! Tests compare it with LLVM's own dump; it is also handy when debugging.

use std::fmt::Write;

use super::reader::{BlockNamer, Entry, Reader, UNABBREV_RECORD};
use super::wrapper;
use crate::error::Result;

/// Options for [`dump`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DumpOptions {
    /// Also list DEFINE_ABBREV entries (llvm-bcanalyzer does not).
    pub abbrevs: bool,
}

/// Dumps every block and record of the bitcode in `data`.
///
/// # Errors
/// The first parse error met.
pub fn dump(data: &[u8], namer: BlockNamer, options: DumpOptions) -> Result<String> {
    let (wrapper, range) = wrapper::locate(data)?;
    let mut reader = Reader::new(data, range.start, range.end, 4, namer)?;
    let mut out = String::new();
    if let Some(w) = wrapper {
        let _ = writeln!(
            out,
            "WRAPPER version={} offset={} size={} cputype={}",
            w.version, w.offset, w.size, w.cputype
        );
    }
    let mut open: Vec<u32> = Vec::new();
    while let Some(entry) = reader.next_entry()? {
        let depth = reader.depth();
        match entry {
            Entry::SubBlock(h) => {
                indent(&mut out, depth);
                let _ = writeln!(
                    out,
                    "BLOCK {} words={} width={}",
                    h.id, h.len_words, h.abbrev_width
                );
                reader.enter()?;
                open.push(h.id);
            }
            Entry::BlockInfo(h) => {
                indent(&mut out, depth);
                let _ = writeln!(out, "BLOCKINFO words={}", h.len_words);
            }
            Entry::DefineAbbrev { abbrev, .. } => {
                if options.abbrevs {
                    indent(&mut out, depth);
                    let _ = writeln!(out, "ABBREV {:?}", abbrev.ops());
                }
            }
            Entry::Record(r) => {
                indent(&mut out, depth);
                let _ = write!(out, "RECORD {}", r.code);
                if r.abbrev_id != UNABBREV_RECORD {
                    let _ = write!(out, " abbrev={}", r.abbrev_id);
                }
                if let Some(b) = &r.blob {
                    let _ = write!(out, " blob={}", b.len());
                }
                if !r.ops.is_empty() {
                    out.push(':');
                    for op in &r.ops {
                        let _ = write!(out, " {op}");
                    }
                }
                out.push('\n');
            }
            Entry::EndBlock { .. } => {
                indent(&mut out, depth);
                let _ = writeln!(out, "END {}", open.pop().unwrap_or_default());
            }
        }
    }
    Ok(out)
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}
