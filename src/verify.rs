//! `verify`: is a rewritten module the original with names changed, and
//! nothing else? (cargo feature `llvm`)
//!
//! Both modules are loaded through LLVM: LLVM's verifier must accept the
//! rewritten one, and `llvm-ir`'s view of the original with the renames
//! applied must equal its view of the rewritten one, global by global,
//! function by function, block by block, instruction by instruction. Comdat
//! names, which the C API does not expose, are compared from bcrename's own
//! reading. The first difference is reported with where it is.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;

use llvm_ir::Module;

use crate::bitcode::{BitcodeFile, ParseOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::llvm::LoadedModule;

/// The renames `verify` allows, old -> new.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    pub names: BTreeMap<String, String>,
    pub source_filename: Option<(String, String)>,
}

impl Renames {
    /// Reads a `rename --map-out` file (every module's renames: a plan maps
    /// an old name to one new name everywhere).
    ///
    /// # Errors
    /// Malformed JSON, or an old name mapped to two new names.
    pub fn from_map(text: &[u8], file: &str) -> Result<Renames> {
        let bad = |m: String| Error::new(ErrorKind::Usage, format!("map {file}: {m}"));
        let v: serde_json::Value =
            serde_json::from_slice(text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        if v["version"] != 1 {
            return Err(bad("\"version\" must be 1".into()));
        }
        let mut out = Renames::default();
        for r in v["renames"]
            .as_array()
            .ok_or_else(|| bad("no \"renames\" list".into()))?
        {
            let (Some(old), Some(new), Some(kind)) =
                (r["old"].as_str(), r["new"].as_str(), r["kind"].as_str())
            else {
                return Err(bad(format!("malformed entry {r}")));
            };
            if kind == "source_filename" {
                out.source_filename = Some((old.into(), new.into()));
                continue;
            }
            if let Some(prev) = out.names.insert(old.into(), new.into()) {
                if prev != new {
                    return Err(bad(format!(
                        "`{old}` is renamed to both `{prev}` and `{new}`"
                    )));
                }
            }
        }
        Ok(out)
    }

    /// `text` (a Debug rendering) with every renamed quoted name replaced.
    fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (old, new) in &self.names {
            out = out.replace(&format!("{old:?}"), &format!("{new:?}"));
        }
        out
    }
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `None` when equal; else the first difference.
    pub difference: Option<String>,
    /// Renames checked (given or inferred).
    pub renames: usize,
    /// True when the renames were inferred (no map given).
    pub inferred: bool,
}

fn clip(s: &str) -> String {
    const MAX: usize = 200;
    if s.len() <= MAX {
        s.to_string()
    } else {
        let mut end = MAX;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    }
}

/// The part of `s` around where it first differs from `other`.
fn around_difference(s: &str, other: &str) -> String {
    let at = s
        .bytes()
        .zip(other.bytes())
        .take_while(|(x, y)| x == y)
        .count();
    let mut start = at.saturating_sub(80);
    while !s.is_char_boundary(start) {
        start -= 1;
    }
    let shown = clip(&s[start..]);
    if start > 0 {
        format!("...{shown}")
    } else {
        shown
    }
}

struct Compare<'r> {
    renames: &'r Renames,
}

impl Compare<'_> {
    fn same<T: Debug>(
        &self,
        what: &dyn Fn() -> String,
        original: &T,
        rewritten: &T,
    ) -> std::result::Result<(), String> {
        let a = self.renames.apply(&format!("{original:?}"));
        let b = format!("{rewritten:?}");
        if a == b {
            return Ok(());
        }
        Err(format!(
            "{}:\n  expected (original, renamed): {}\n  found (rewritten):          {}",
            what(),
            around_difference(&a, &b),
            around_difference(&b, &a)
        ))
    }

    fn lists<T: Debug>(
        &self,
        what: &str,
        name: impl Fn(&T) -> String,
        a: &[T],
        b: &[T],
    ) -> std::result::Result<(), String> {
        if a.len() != b.len() {
            return Err(format!(
                "{} {what}s in the original, {} in the rewritten module",
                a.len(),
                b.len()
            ));
        }
        for (x, y) in a.iter().zip(b) {
            self.same(&|| format!("{what} `{}`", name(x)), x, y)?;
        }
        Ok(())
    }

    fn modules(&self, a: &Module, b: &Module) -> std::result::Result<(), String> {
        let expected_source = match &self.renames.source_filename {
            Some((old, new)) if *old == a.source_file_name => new.clone(),
            _ => a.source_file_name.clone(),
        };
        if expected_source != b.source_file_name {
            return Err(format!(
                "source_filename: expected {expected_source:?}, found {:?}",
                b.source_file_name
            ));
        }
        let text = |s: &str| s.to_string();
        // (The parsed form holds hash maps, whose Debug order varies.)
        self.same(
            &|| text("data layout"),
            &a.data_layout.layout_str,
            &b.data_layout.layout_str,
        )?;
        self.same(
            &|| text("target triple"),
            &a.target_triple,
            &b.target_triple,
        )?;
        self.same(
            &|| text("module asm"),
            &a.inline_assembly,
            &b.inline_assembly,
        )?;
        self.lists(
            "global variable",
            |g: &llvm_ir::module::GlobalVariable| g.name.to_string(),
            &a.global_vars,
            &b.global_vars,
        )?;
        self.lists(
            "alias",
            |g: &llvm_ir::module::GlobalAlias| g.name.to_string(),
            &a.global_aliases,
            &b.global_aliases,
        )?;
        self.lists(
            "ifunc",
            |g: &llvm_ir::module::GlobalIFunc| g.name.to_string(),
            &a.global_ifuncs,
            &b.global_ifuncs,
        )?;
        self.lists(
            "function declaration",
            |f: &llvm_ir::function::FunctionDeclaration| f.name.clone(),
            &a.func_declarations,
            &b.func_declarations,
        )?;
        if a.functions.len() != b.functions.len() {
            return Err(format!(
                "{} functions in the original, {} in the rewritten module",
                a.functions.len(),
                b.functions.len()
            ));
        }
        for (f, g) in a.functions.iter().zip(&b.functions) {
            let fname = || {
                self.renames
                    .names
                    .get(&f.name)
                    .cloned()
                    .unwrap_or_else(|| f.name.clone())
            };
            let header = |f: &llvm_ir::Function| {
                let mut h = f.clone();
                h.basic_blocks.clear();
                h
            };
            self.same(
                &|| format!("function `{}` (signature, attributes, linkage)", fname()),
                &header(f),
                &header(g),
            )?;
            if f.basic_blocks.len() != g.basic_blocks.len() {
                return Err(format!(
                    "function `{}`: {} blocks, rewritten {}",
                    fname(),
                    f.basic_blocks.len(),
                    g.basic_blocks.len()
                ));
            }
            for (x, y) in f.basic_blocks.iter().zip(&g.basic_blocks) {
                let block = || format!("function `{}`, block `{}`", fname(), x.name);
                self.same(&|| format!("{} (name)", block()), &x.name, &y.name)?;
                if x.instrs.len() != y.instrs.len() {
                    return Err(format!(
                        "{}: {} instructions, rewritten {}",
                        block(),
                        x.instrs.len(),
                        y.instrs.len()
                    ));
                }
                for (i, (p, q)) in x.instrs.iter().zip(&y.instrs).enumerate() {
                    self.same(
                        &|| {
                            format!(
                                "{}, instruction {} (`{}`)",
                                block(),
                                i + 1,
                                clip(&p.to_string())
                            )
                        },
                        p,
                        q,
                    )?;
                }
                self.same(&|| format!("{}, terminator", block()), &x.term, &y.term)?;
            }
        }
        Ok(())
    }
}

/// Infers renames by position: globals of each kind and function-local
/// names, pairwise, where the names differ.
fn infer(a: &Module, b: &Module) -> Renames {
    let mut r = Renames::default();
    let mut pair = |x: String, y: String| {
        if x != y {
            r.names.entry(x).or_insert(y);
        }
    };
    for (x, y) in a.global_vars.iter().zip(&b.global_vars) {
        pair(x.name.to_string(), y.name.to_string());
    }
    for (x, y) in a.global_aliases.iter().zip(&b.global_aliases) {
        pair(x.name.to_string(), y.name.to_string());
    }
    for (x, y) in a.func_declarations.iter().zip(&b.func_declarations) {
        pair(x.name.clone(), y.name.clone());
    }
    for (f, g) in a.functions.iter().zip(&b.functions) {
        pair(f.name.clone(), g.name.clone());
        for (x, y) in f.basic_blocks.iter().zip(&g.basic_blocks) {
            pair(x.name.to_string(), y.name.to_string());
            for (p, q) in x.instrs.iter().zip(&y.instrs) {
                if let (Some(n), Some(m)) = (p.try_get_result(), q.try_get_result()) {
                    pair(n.to_string(), m.to_string());
                }
            }
        }
    }
    // Names were rendered with their sigil-free Display; Debug quotes the
    // inner string, which is what `apply` matches.
    r.names = r
        .names
        .into_iter()
        .map(|(k, v)| (strip(&k), strip(&v)))
        .collect();
    if a.source_file_name != b.source_file_name {
        r.source_filename = Some((a.source_file_name.clone(), b.source_file_name.clone()));
    }
    r
}

/// `%name` / `@name` as Display prints `Name`s, without the sigil.
fn strip(s: &str) -> String {
    s.trim_start_matches(['%', '@']).to_string()
}

/// Checks that `rewritten` is `original` with only the given (or inferred)
/// renames applied.
///
/// # Errors
/// Unreadable files or map; a difference is not an error but a verdict.
pub fn verify(original: &Path, rewritten: &Path, map: Option<&Path>) -> Result<Verdict> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| Error::new(ErrorKind::Io, format!("{}: {e}", p.display())))
    };
    let (a_bytes, b_bytes) = (read(original)?, read(rewritten)?);
    let show = |p: &Path| p.display().to_string();
    let a_bc = BitcodeFile::parse(&a_bytes, ParseOptions::default())
        .map_err(|e| e.in_file(show(original)))?;
    let b_bc = BitcodeFile::parse(&b_bytes, ParseOptions::default())
        .map_err(|e| e.in_file(show(rewritten)))?;
    if a_bc.modules.len() != 1 || b_bc.modules.len() != 1 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "verify reads files with one module (not split LTO units)",
        ));
    }
    let loaded =
        LoadedModule::load(&b_bytes, &show(rewritten)).map_err(|e| e.in_file(show(rewritten)))?;
    if let Err(report) = loaded.verify() {
        return Ok(Verdict {
            difference: Some(format!(
                "LLVM's verifier rejects the rewritten module:\n{report}"
            )),
            renames: 0,
            inferred: map.is_none(),
        });
    }
    drop(loaded);
    let load = |p: &Path| {
        Module::from_bc_path(p).map_err(|e| {
            Error::new(
                ErrorKind::Unsupported,
                format!("{}: llvm-ir: {e}", p.display()),
            )
        })
    };
    let (a, b) = (load(original)?, load(rewritten)?);
    let renames = match map {
        Some(m) => Renames::from_map(&read(m)?, &show(m))?,
        None => infer(&a, &b),
    };
    let count = renames.names.len() + usize::from(renames.source_filename.is_some());
    let cmp = Compare { renames: &renames };
    if let Err(d) = cmp.modules(&a, &b) {
        return Ok(Verdict {
            difference: Some(d),
            renames: count,
            inferred: map.is_none(),
        });
    }
    // Comdats: the C API cannot name them; bcrename's reader can.
    let rename = |n: &[u8]| {
        let s = String::from_utf8_lossy(n).into_owned();
        renames.names.get(&s).cloned().unwrap_or(s)
    };
    let mut want: Vec<String> = a_bc.modules[0]
        .comdats
        .iter()
        .map(|c| rename(&c.name))
        .collect();
    let mut got: Vec<String> = b_bc.modules[0]
        .comdats
        .iter()
        .map(|c| String::from_utf8_lossy(&c.name).into_owned())
        .collect();
    want.sort();
    got.sort();
    if want != got {
        return Ok(Verdict {
            difference: Some(format!("comdats: expected {want:?}, found {got:?}")),
            renames: count,
            inferred: map.is_none(),
        });
    }
    Ok(Verdict {
        difference: None,
        renames: count,
        inferred: map.is_none(),
    })
}
