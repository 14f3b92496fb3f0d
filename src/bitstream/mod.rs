//! The bitstream container: bits, abbreviations, blocks and records.
//!
//! Nothing here knows about LLVM IR. [`wrapper`] finds the stream in a file,
//! [`cursor`] reads bits, [`abbrev`] reads abbreviation definitions and the
//! records that use them, and [`reader`] walks blocks, entering or skipping
//! each by its length. [`dump`] prints a stream the way `llvm-bcanalyzer
//! -dump` does, for tests and debugging.

pub mod abbrev;
pub mod cursor;
pub mod dump;
pub mod reader;
pub mod wrapper;
pub mod writer;

pub use abbrev::{Abbrev, AbbrevOp};
pub use reader::{Abbrevs, BlockHeader, Entry, OperandSpan, Reader, Record, Watch};
pub use wrapper::Wrapper;
pub use writer::BitWriter;
