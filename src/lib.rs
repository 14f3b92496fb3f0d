//! bcrename: rename symbols inside LLVM bitcode.
//!
//! ThinLTO promotes `static` functions and variables that other modules need
//! to hidden globals named `name.llvm.<hash>`, the hash taken from the owner
//! module's bitcode. bcrename finds every such name across a set of modules
//! and gives it a stable suffix, or applies objcopy-style renames.
//!
//! The layers, bottom up:
//! - [`bitstream`]: bits, abbreviations, blocks; knows nothing of LLVM IR.
//! - [`bitcode`]: which blocks and records carry names, and where.
//! - [`plan`]: promoted names, owners of suffixes, policies; knows no bits.
//! - [`scan`]: the `scan` report built from the layers above.
//! - [`input`] and [`cli`]: finding input files, the command line.
// No unsafe code, except in the module that wraps the LLVM C API.
#![cfg_attr(not(feature = "llvm"), forbid(unsafe_code))]
#![cfg_attr(feature = "llvm", deny(unsafe_code))]

pub mod bitcode;
pub mod bitstream;
pub mod cli;
pub mod diff;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod input;
#[cfg(feature = "llvm")]
pub mod llvm;
pub mod output;
pub mod parallel;
pub mod plan;
pub mod rename;
pub mod scan;
#[cfg(test)]
mod testing;
#[cfg(feature = "llvm")]
pub mod verify;

pub use error::{Error, ErrorKind, Result};
