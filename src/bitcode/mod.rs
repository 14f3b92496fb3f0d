//! LLVM bitcode on top of the bitstream: which blocks and records carry
//! names, and where.
//!
//! [`module`] reads a file into [`BitcodeFile`]: modules with their globals,
//! comdats, source file name, hash, module asm, function-local names, and the
//! STRTAB / SYMTAB / MODULE_STRTAB tables. [`symtab_names`] reads a
//! module's names from its symbol table alone, without the module. Record layouts follow LLVM's
//! `BitcodeWriter.cpp` for `MODULE_CODE_VERSION` 2 (LLVM 5 and later), where
//! names live in STRTAB and records point at them by (offset, size).

pub mod changes;
pub mod codes;
pub mod module;
pub mod rewrite;
pub mod symtab;
pub mod symtab_names;

pub use module::{
    BitcodeFile, Comdat, FunctionBody, Global, GlobalKind, IndexEntry, Linkage, LocalKind,
    LocalName, LocalNames, Module, ParseOptions, Visibility,
};
