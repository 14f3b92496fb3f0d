//! `diff`: are two builds the same once promoted names are canonical?
//!
//! LEFT and RIGHT are two files, or two directories whose bitcode files are
//! paired by relative path. Each side is renamed in memory with the same
//! policy, as a set of its own (so each side's suffixes resolve within it),
//! and the results are compared byte for byte. A pair is *identical* (the
//! inputs are equal), *equivalent* (equal once canonical; the report says
//! whether names, the source file name or both made the difference) or
//! *different* (not equal even then; the report names the first block that
//! differs). Nothing is written.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::bitcode::codes::block_name;
use crate::bitcode::rewrite;
use crate::bitstream::dump::{dump, DumpOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::input::{self, InputFile, Source};
use crate::plan::build::{self, PlanOptions};
use crate::scan::{self, LoadedFile};

/// One paired module.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PairReport {
    pub path: String,
    /// `identical`, `equivalent` or `different`.
    pub status: &'static str,
    /// What differs between the inputs: `names`, `source file`, `other`.
    pub differs: Vec<&'static str>,
    /// For `different`: where the canonical forms first differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_difference: Option<String>,
}

/// A file on one side only.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Unpaired {
    pub path: String,
    pub side: &'static str,
}

/// The `diff` report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DiffReport {
    pub version: u32,
    pub pairs: Vec<PairReport>,
    pub unpaired: Vec<Unpaired>,
}

impl DiffReport {
    /// True when every pair is identical or equivalent and nothing is unpaired.
    pub fn same(&self) -> bool {
        self.unpaired.is_empty() && self.pairs.iter().all(|p| p.status != "different")
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("serializes");
        s.push('\n');
        s
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for p in &self.pairs {
            let _ = write!(out, "{:<11} {}", p.status, p.path);
            if !p.differs.is_empty() {
                let _ = write!(out, "  (differs in: {})", p.differs.join(", "));
            }
            out.push('\n');
            if let Some(d) = &p.first_difference {
                let _ = writeln!(out, "            first difference: {d}");
            }
        }
        for u in &self.unpaired {
            let _ = writeln!(out, "only-{:<6} {}", u.side, u.path);
        }
        let count = |s: &str| self.pairs.iter().filter(|p| p.status == s).count();
        let _ = writeln!(
            out,
            "{} identical, {} equivalent, {} different, {} unpaired",
            count("identical"),
            count("equivalent"),
            count("different"),
            self.unpaired.len()
        );
        out
    }
}

/// One side: its files by pairing key.
fn side(arg: &str) -> Result<(bool, BTreeMap<String, InputFile>)> {
    let is_dir = std::path::Path::new(arg).is_dir();
    let expanded = input::expand(&[arg.to_string()])?;
    let mut files = BTreeMap::new();
    for f in expanded.files {
        let key = match (&f.relative, &f.source) {
            (Some(rel), _) => rel.to_string_lossy().into_owned(),
            (None, Source::File(p)) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            (None, Source::Stdin) => "-".into(),
        };
        files.insert(key, f);
    }
    Ok((is_dir, files))
}

/// A file of one side: its bytes, its canonical bytes, what was read of it.
struct Canonical {
    raw: Vec<u8>,
    canon: Vec<u8>,
    file: LoadedFile,
}

/// Every file of one side in canonical form, by key.
fn canonical(
    files: &BTreeMap<String, InputFile>,
    plan_options: &PlanOptions,
    jobs: usize,
) -> Result<BTreeMap<String, Canonical>> {
    let inputs: Vec<InputFile> = files.values().cloned().collect();
    let loaded = scan::load(&inputs, scan::scan_parse_options())?;
    let refs = scan::module_refs(&loaded);
    let plan = build::build(&refs, &[], &[], plan_options)?;
    let rewritten = crate::parallel::map(&loaded, jobs, |f| -> Result<(Vec<u8>, Vec<u8>)> {
        let data = f.handle.reread()?;
        let canon = rewrite::rewrite(&data, &f.bitcode, &plan)
            .map_err(|e| e.in_file(&f.handle.input.display))?
            .bytes;
        let canon = canon.unwrap_or_else(|| data.clone());
        Ok((data, canon))
    });
    let mut out = BTreeMap::new();
    for ((key, _), (r, f)) in files.iter().zip(rewritten.into_iter().zip(loaded)) {
        let (raw, canon) = r?;
        out.insert(
            key.clone(),
            Canonical {
                raw,
                canon,
                file: f,
            },
        );
    }
    Ok(out)
}

/// Where two byte strings first differ, as a block path and the two lines
/// of their dumps.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let (Ok(da), Ok(db)) = (
        dump(a, block_name, DumpOptions::default()),
        dump(b, block_name, DumpOptions::default()),
    ) else {
        return "the files do not dump".into();
    };
    let (la, lb): (Vec<&str>, Vec<&str>) = (da.lines().collect(), db.lines().collect());
    // Block lengths differ whenever anything inside does: look past them
    // for the first entry that differs.
    let content = |l: &str| {
        l.split(' ')
            .filter(|w| !w.starts_with("words="))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let at = la
        .iter()
        .zip(&lb)
        .position(|(x, y)| content(x) != content(y))
        .unwrap_or(la.len().min(lb.len()));
    // The enclosing blocks of line `at`, with ordinals among siblings.
    let mut stack: Vec<(u32, u32)> = Vec::new();
    let mut counts: Vec<BTreeMap<u32, u32>> = vec![BTreeMap::new()];
    for line in &la[..at.min(la.len())] {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("BLOCK ") {
            let id: u32 = rest
                .split(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let n = counts.last_mut().unwrap().entry(id).or_insert(0);
            *n += 1;
            stack.push((id, *n));
            counts.push(BTreeMap::new());
        } else if t.starts_with("END ") {
            stack.pop();
            counts.pop();
        }
    }
    let path: Vec<String> = stack
        .iter()
        .map(|&(id, n)| {
            let name = block_name(id)
                .map(str::to_string)
                .unwrap_or_else(|| format!("block {id}"));
            if n > 1 {
                format!("{name} #{n}")
            } else {
                name
            }
        })
        .collect();
    let clip = |s: Option<&&str>| {
        let s = s.map(|s| s.trim()).unwrap_or("(end)");
        if s.len() > 120 {
            format!("{}...", &s[..120])
        } else {
            s.to_string()
        }
    };
    format!(
        "{}: left `{}`, right `{}`",
        if path.is_empty() {
            "top level".to_string()
        } else {
            path.join(" > ")
        },
        clip(la.get(at)),
        clip(lb.get(at))
    )
}

/// Compares two builds.
///
/// # Errors
/// Unreadable or malformed inputs, a file paired with a directory, or a
/// plan error on either side.
pub fn diff(
    left: &str,
    right: &str,
    plan_options: &PlanOptions,
    jobs: usize,
) -> Result<DiffReport> {
    let (ldir, lfiles) = side(left)?;
    let (rdir, rfiles) = side(right)?;
    if ldir != rdir {
        return Err(Error::new(
            ErrorKind::Usage,
            "diff compares two files or two directories, not one of each",
        ));
    }
    let (lfiles, rfiles) = if ldir {
        (lfiles, rfiles)
    } else {
        // Two files are paired whatever their names.
        let one = |m: BTreeMap<String, InputFile>| {
            m.into_values().map(|f| (left.to_string(), f)).collect()
        };
        (one(lfiles), one(rfiles))
    };
    let lkeys: BTreeSet<&String> = lfiles.keys().collect();
    let rkeys: BTreeSet<&String> = rfiles.keys().collect();
    let mut unpaired: Vec<Unpaired> = lkeys
        .difference(&rkeys)
        .map(|k| Unpaired {
            path: (*k).clone(),
            side: "left",
        })
        .chain(rkeys.difference(&lkeys).map(|k| Unpaired {
            path: (*k).clone(),
            side: "right",
        }))
        .collect();
    unpaired.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));

    // Each side is its own set: owners resolve within it; names whose owner
    // is on neither side stay as they are.
    let mut opts = plan_options.clone();
    opts.keep_unresolved = true;
    let lcanon = canonical(&lfiles, &opts, jobs)?;
    let rcanon = canonical(&rfiles, &opts, jobs)?;
    let mut pairs = Vec::new();
    for key in lkeys.intersection(&rkeys) {
        let (l, r) = (&lcanon[*key], &rcanon[*key]);
        let (lraw, lc, lf) = (&l.raw, &l.canon, &l.file);
        let (rraw, rc, rf) = (&r.raw, &r.canon, &r.file);
        let mut differs = Vec::new();
        let names = |f: &LoadedFile| -> BTreeSet<Vec<u8>> {
            f.bitcode
                .modules
                .iter()
                .flat_map(|m| m.globals.iter().map(|g| g.name.to_vec()))
                .collect()
        };
        let sources = |f: &LoadedFile| -> Vec<Option<Vec<u8>>> {
            f.bitcode
                .modules
                .iter()
                .map(|m| m.source_filename.clone())
                .collect()
        };
        if lraw != rraw {
            if names(lf) != names(rf) {
                differs.push("names");
            }
            if sources(lf) != sources(rf) {
                differs.push("source file");
            }
        }
        let (status, first) = if lraw == rraw {
            ("identical", None)
        } else if lc == rc {
            ("equivalent", None)
        } else {
            differs.push("other");
            ("different", Some(first_difference(lc, rc)))
        };
        pairs.push(PairReport {
            path: (*key).clone(),
            status,
            differs,
            first_difference: first,
        });
    }
    pairs.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    Ok(DiffReport {
        version: 1,
        pairs,
        unpaired,
    })
}
