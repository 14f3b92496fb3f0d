//! The LLVM engine and the LLVM side of `verify` (cargo feature `llvm`).
//!
//! This is the one module with `unsafe` code: it wraps the LLVM 19 C API
//! (through `llvm-sys`) in owned handles that dispose of themselves, and
//! exposes safe functions: load a module, rename through it, write it, run
//! LLVM's verifier.
//!
//! The LLVM engine is a second implementation of the rewrite, not the
//! default: LLVM writes its own bitcode version and no summary, and it cannot
//! read bitcode newer than itself. What it is good for is an independent
//! check of the native engine, and inputs the native engine refuses.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_void, CStr};
use std::ptr;

use llvm_sys::analysis::{LLVMVerifierFailureAction, LLVMVerifyModule};
use llvm_sys::bit_reader::LLVMParseBitcodeInContext2;
use llvm_sys::bit_writer::LLVMWriteBitcodeToMemoryBuffer;
use llvm_sys::comdat::{
    LLVMGetComdat, LLVMGetComdatSelectionKind, LLVMGetOrInsertComdat, LLVMSetComdat,
    LLVMSetComdatSelectionKind,
};
use llvm_sys::core::*;
use llvm_sys::prelude::*;

use crate::bitcode::rewrite::{planned_changes, Renamer, Rewritten};
use crate::bitcode::BitcodeFile;
use crate::error::{Error, ErrorKind, Result};

/// The LLVM major version this build links.
pub const LLVM_MAJOR: u32 = 19;

/// An LLVM context with a module read from bitcode; both are disposed of
/// on drop.
pub struct LoadedModule {
    ctx: LLVMContextRef,
    module: LLVMModuleRef,
}

// Each LoadedModule has its own context; nothing is shared between threads.
unsafe impl Send for LoadedModule {}

impl Drop for LoadedModule {
    fn drop(&mut self) {
        // SAFETY: both handles were created by `load` and are disposed of
        // once, module first.
        unsafe {
            LLVMDisposeModule(self.module);
            LLVMContextDispose(self.ctx);
        }
    }
}

extern "C" fn collect_diagnostic(info: LLVMDiagnosticInfoRef, out: *mut c_void) {
    // SAFETY: `out` is the `String` registered in `load`, alive for the call.
    unsafe {
        let text = LLVMGetDiagInfoDescription(info);
        if !text.is_null() {
            let s = &mut *(out as *mut String);
            if !s.is_empty() {
                s.push_str("; ");
            }
            s.push_str(&CStr::from_ptr(text).to_string_lossy());
            LLVMDisposeMessage(text);
        }
    }
}

fn value_name(v: LLVMValueRef) -> Vec<u8> {
    let mut len = 0usize;
    // SAFETY: `v` is a live value; LLVM returns a pointer to `len` bytes.
    unsafe {
        let p = LLVMGetValueName2(v, &mut len);
        if p.is_null() {
            return Vec::new();
        }
        std::slice::from_raw_parts(p as *const u8, len).to_vec()
    }
}

fn set_value_name(v: LLVMValueRef, name: &[u8]) {
    // SAFETY: LLVM copies the `name.len()` bytes.
    unsafe { LLVMSetValueName2(v, name.as_ptr() as *const c_char, name.len()) }
}

fn iterate(
    first: LLVMValueRef,
    next: unsafe extern "C" fn(LLVMValueRef) -> LLVMValueRef,
) -> Vec<LLVMValueRef> {
    let mut out = Vec::new();
    let mut v = first;
    while !v.is_null() {
        out.push(v);
        // SAFETY: `v` is a live value of the list `next` walks.
        v = unsafe { next(v) };
    }
    out
}

impl LoadedModule {
    /// Reads bitcode (the first module of the file) into a fresh context.
    ///
    /// # Errors
    /// LLVM's own message when it cannot read the bitcode.
    pub fn load(data: &[u8], name: &str) -> Result<LoadedModule> {
        let mut diagnostics = String::new();
        // SAFETY: standard C API use; every handle is owned by the result or
        // disposed of here on failure.
        unsafe {
            let ctx = LLVMContextCreate();
            LLVMContextSetDiagnosticHandler(
                ctx,
                Some(collect_diagnostic),
                &mut diagnostics as *mut String as *mut c_void,
            );
            let cname = std::ffi::CString::new(name.replace('\0', "")).unwrap_or_default();
            let buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(
                data.as_ptr() as *const c_char,
                data.len(),
                cname.as_ptr(),
            );
            let mut module = ptr::null_mut();
            let failed = LLVMParseBitcodeInContext2(ctx, buf, &mut module);
            LLVMDisposeMemoryBuffer(buf);
            LLVMContextSetDiagnosticHandler(ctx, None, ptr::null_mut());
            if failed != 0 || module.is_null() {
                LLVMContextDispose(ctx);
                let why = if diagnostics.is_empty() {
                    "LLVM could not read the bitcode".to_string()
                } else {
                    diagnostics
                };
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("LLVM {LLVM_MAJOR}: {why}"),
                ));
            }
            Ok(LoadedModule { ctx, module })
        }
    }

    /// Writes the module as LLVM 19 bitcode.
    pub fn write(&self) -> Vec<u8> {
        // SAFETY: the buffer is copied out, then disposed of.
        unsafe {
            let buf = LLVMWriteBitcodeToMemoryBuffer(self.module);
            let bytes = std::slice::from_raw_parts(
                LLVMGetBufferStart(buf) as *const u8,
                LLVMGetBufferSize(buf),
            )
            .to_vec();
            LLVMDisposeMemoryBuffer(buf);
            bytes
        }
    }

    /// Runs LLVM's verifier.
    ///
    /// # Errors
    /// The verifier's report.
    pub fn verify(&self) -> std::result::Result<(), String> {
        // SAFETY: the message is disposed of after copying.
        unsafe {
            let mut msg = ptr::null_mut();
            let broken = LLVMVerifyModule(
                self.module,
                LLVMVerifierFailureAction::LLVMReturnStatusAction,
                &mut msg,
            );
            let text = if msg.is_null() {
                String::new()
            } else {
                CStr::from_ptr(msg).to_string_lossy().into_owned()
            };
            if !msg.is_null() {
                LLVMDisposeMessage(msg);
            }
            if broken != 0 {
                Err(text)
            } else {
                Ok(())
            }
        }
    }

    /// Every global value: variables, functions, aliases, ifuncs.
    fn globals(&self) -> Vec<LLVMValueRef> {
        // SAFETY: list walks over the live module.
        unsafe {
            let mut all = iterate(LLVMGetFirstGlobal(self.module), LLVMGetNextGlobal);
            all.extend(iterate(
                LLVMGetFirstFunction(self.module),
                LLVMGetNextFunction,
            ));
            all.extend(iterate(
                LLVMGetFirstGlobalAlias(self.module),
                LLVMGetNextGlobalAlias,
            ));
            all.extend(iterate(
                LLVMGetFirstGlobalIFunc(self.module),
                LLVMGetNextGlobalIFunc,
            ));
            all
        }
    }

    /// Renames `(value, new name)` pairs in one symbol table in two phases,
    /// so that swaps and chains work, then checks LLVM kept every name as
    /// given (it silently makes a taken name unique).
    fn rename_values(pairs: &[(LLVMValueRef, Vec<u8>)], scope: &str) -> Result<()> {
        for (i, (v, _)) in pairs.iter().enumerate() {
            set_value_name(*v, format!("bcrename.tmp.{i}").as_bytes());
        }
        for (v, new) in pairs {
            set_value_name(*v, new);
        }
        for (v, new) in pairs {
            let got = value_name(*v);
            if got != *new {
                return Err(Error::new(
                    ErrorKind::Policy,
                    format!(
                        "{scope}: LLVM renamed `{}` to `{}`: the name is taken",
                        String::from_utf8_lossy(new),
                        String::from_utf8_lossy(&got)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Applies the renames `renamer` chooses; `file` is the same bitcode as
    /// parsed by bcrename (for comdat names, which the C API cannot read).
    fn apply(&self, file: &BitcodeFile, renamer: &dyn Renamer, path: &str) -> Result<()> {
        let parsed = &file.modules[0];
        // Comdats by their members' names (LLVM may drop or add globals
        // when it upgrades older bitcode, so positions do not line up).
        let comdat_names: std::collections::HashMap<&[u8], &[u8]> = parsed
            .globals
            .iter()
            .filter_map(|g| {
                g.comdat
                    .map(|ci| (g.name.as_slice(), parsed.comdats[ci].name.as_slice()))
            })
            .collect();
        let mut pairs = Vec::new();
        let mut comdat_of: Vec<(LLVMValueRef, Vec<u8>)> = Vec::new();
        for v in self.globals() {
            let name = value_name(v);
            if let Some(new) = renamer.global(&name).filter(|n| *n != name) {
                pairs.push((v, new));
            }
            // SAFETY: `v` is a live global of this module.
            if !unsafe { LLVMGetComdat(v) }.is_null() {
                if let Some(c) = comdat_names.get(name.as_slice()) {
                    comdat_of.push((v, c.to_vec()));
                }
            }
        }
        Self::rename_values(&pairs, path)?;

        // Comdats cannot be renamed in place: move the members of each
        // renamed comdat to a comdat with the new name and the same kind.
        let renamed: Vec<(LLVMValueRef, Vec<u8>)> = comdat_of
            .into_iter()
            .filter_map(|(v, old)| renamer.global(&old).filter(|n| *n != old).map(|n| (v, n)))
            .collect();
        // SAFETY: values and comdats belong to this module.
        unsafe {
            let kinds: Vec<_> = renamed
                .iter()
                .map(|(v, _)| LLVMGetComdatSelectionKind(LLVMGetComdat(*v)))
                .collect();
            for (i, ((v, _), kind)) in renamed.iter().zip(&kinds).enumerate() {
                let tmp = std::ffi::CString::new(format!("bcrename.tmp.comdat.{i}")).unwrap();
                let c = LLVMGetOrInsertComdat(self.module, tmp.as_ptr());
                LLVMSetComdatSelectionKind(c, *kind);
                LLVMSetComdat(*v, c);
            }
            for ((v, new), kind) in renamed.iter().zip(&kinds) {
                let name = std::ffi::CString::new(new.clone()).map_err(|_| {
                    Error::new(ErrorKind::Unsupported, "a comdat name with a NUL byte")
                })?;
                let c = LLVMGetOrInsertComdat(self.module, name.as_ptr());
                LLVMSetComdatSelectionKind(c, *kind);
                LLVMSetComdat(*v, c);
            }
        }

        // Function-local names, one symbol table per function.
        // SAFETY: walks over the live module's functions, blocks, instructions.
        unsafe {
            for f in iterate(LLVMGetFirstFunction(self.module), LLVMGetNextFunction) {
                let mut values = iterate(LLVMGetFirstParam(f), LLVMGetNextParam);
                let mut bb = LLVMGetFirstBasicBlock(f);
                while !bb.is_null() {
                    values.push(LLVMBasicBlockAsValue(bb));
                    values.extend(iterate(LLVMGetFirstInstruction(bb), LLVMGetNextInstruction));
                    bb = LLVMGetNextBasicBlock(bb);
                }
                let pairs: Vec<_> = values
                    .into_iter()
                    .filter_map(|v| {
                        let old = value_name(v);
                        renamer.local(&old).filter(|n| *n != old).map(|n| (v, n))
                    })
                    .collect();
                if !pairs.is_empty() {
                    Self::rename_values(
                        &pairs,
                        &format!(
                            "{path}: function {}",
                            String::from_utf8_lossy(&value_name(f))
                        ),
                    )?;
                }
            }
            if let Some(sf) = &parsed.source_filename {
                if let Some(new) = renamer.source_filename(sf) {
                    LLVMSetSourceFileName(self.module, new.as_ptr() as *const c_char, new.len());
                }
            }
        }
        Ok(())
    }
}

/// The major version in a producer string such as `LLVM19.1.7`.
fn producer_major(producer: &[u8]) -> Option<u32> {
    let digits: String = producer
        .strip_prefix(b"LLVM")?
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| b as char)
        .collect();
    digits.parse().ok()
}

/// Rewrites one file through LLVM: the same renames as the native engine,
/// written as LLVM 19 bitcode.
///
/// # Errors
/// Unsupported for files with several modules, bitcode newer than LLVM 19
/// or that LLVM cannot read; Policy when LLVM finds a name taken.
pub fn rewrite(
    data: &[u8],
    file: &BitcodeFile,
    renamer: &dyn Renamer,
    path: &str,
) -> Result<Rewritten> {
    let changes = planned_changes(file, renamer);
    if changes.is_empty() {
        return Ok(Rewritten {
            bytes: None,
            changes,
            warnings: Vec::new(),
        });
    }
    if file.modules.len() != 1 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("{path}: {} modules in one file (a split LTO unit); the LLVM engine reads only one: use --engine native", file.modules.len()),
        ));
    }
    let m = &file.modules[0];
    let mut warnings = Vec::new();
    match m.producer().and_then(producer_major) {
        Some(v) if v > LLVM_MAJOR => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{path}: written by LLVM {v}, newer than the LLVM {LLVM_MAJOR} this engine links; use --engine native"),
            ));
        }
        Some(LLVM_MAJOR) => {}
        other => warnings.push(format!(
            "written by {}; the LLVM engine writes LLVM {LLVM_MAJOR} bitcode, which older LLVM tools cannot read",
            other.map_or("an unknown producer".to_string(), |v| format!("LLVM {v}"))
        )),
    }
    if m.has_summary || m.hash.is_some() {
        warnings.push("the LLVM engine drops the ThinLTO summary and module hash; use --engine native for pre-link bitcode".into());
    }
    let loaded = LoadedModule::load(data, path)?;
    loaded.apply(file, renamer, path)?;
    Ok(Rewritten {
        bytes: Some(loaded.write()),
        changes,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn producer_versions() {
        assert_eq!(super::producer_major(b"LLVM19.1.7"), Some(19));
        assert_eq!(super::producer_major(b"LLVM14.0.6"), Some(14));
        assert_eq!(super::producer_major(b"APPLE_1_1500"), None);
    }
}
