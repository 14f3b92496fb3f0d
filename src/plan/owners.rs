//! Who owns each promotion suffix.
//!
//! The suffix names the module the symbol was promoted out of. It is
//! resolved, in this order, from:
//! 1. the input set: the one module holding an owning definition of a global
//!    with that suffix (declarations and `available_externally` copies do not
//!    count; two modules in one file count as one);
//! 2. `--prelink` modules: LLVM derives the suffix from the module HASH;
//! 3. `--index` files: MODULE_STRTAB maps module paths to hashes, hence to
//!    suffixes;
//! 4. a manifest.
//!
//! This module decides from facts already extracted from the modules; it
//! reads no files.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

/// How a suffix's owner was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResolvedBy {
    Definition,
    Prelink,
    Index,
    Manifest,
    Unresolved,
}

/// What the input set says about one suffix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuffixMentions {
    /// Paths of modules holding an owning definition.
    pub definers: BTreeSet<Arc<str>>,
    /// Paths of modules mentioning the suffix in any name.
    pub mentioned_by: Paths,
}

/// Paths of modules, kept as they are met (a path may come more than
/// once) and put in order only when read: every suffix has them, only
/// suffixes that are reported read them.
#[derive(Debug, Clone, Default)]
pub struct Paths(Vec<Arc<str>>);

impl Paths {
    pub fn push(&mut self, path: Arc<str>) {
        self.0.push(path);
    }

    pub fn extend(&mut self, paths: Paths) {
        self.0.extend(paths.0);
    }

    /// Each path once, sorted.
    pub fn sorted(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.0.iter().map(|p| &**p).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

impl FromIterator<Arc<str>> for Paths {
    fn from_iter<I: IntoIterator<Item = Arc<str>>>(iter: I) -> Self {
        Paths(iter.into_iter().collect())
    }
}

/// Equal when they hold the same paths, in any order or number.
impl PartialEq for Paths {
    fn eq(&self, other: &Paths) -> bool {
        self.sorted() == other.sorted()
    }
}

impl Eq for Paths {}

/// A module that can vouch for a suffix: its path, its source file name,
/// and the suffix its HASH gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedModule {
    pub path: String,
    pub source_filename: Option<Vec<u8>>,
    pub suffix: String,
}

/// A suffix-to-module mapping read from a ThinLTO index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedModule {
    /// The index file it came from.
    pub index: String,
    /// The module path as the index names it.
    pub module_path: String,
    pub suffix: String,
    /// The module, when it could be found and read.
    pub module: Option<HashedModule>,
}

/// The owner of one suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuffixOwner {
    pub suffix: String,
    pub owner: Option<String>,
    pub source_filename: Option<Vec<u8>>,
    pub resolved_by: ResolvedBy,
}

/// Something worth telling the user about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    pub kind: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<String>,
}

fn join(set: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    set.into_iter()
        .map(|s| s.as_ref().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Resolves every mentioned suffix. Results are sorted by suffix, problems
/// by kind and message.
pub fn resolve(
    mentions: &BTreeMap<String, SuffixMentions>,
    source_filenames: &BTreeMap<String, Option<Vec<u8>>>,
    prelink: &[HashedModule],
    index: &[IndexedModule],
) -> (Vec<SuffixOwner>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut by_prelink: BTreeMap<&str, Vec<&HashedModule>> = BTreeMap::new();
    for m in prelink {
        by_prelink.entry(m.suffix.as_str()).or_default().push(m);
    }
    let mut by_index: BTreeMap<&str, Vec<&IndexedModule>> = BTreeMap::new();
    for m in index {
        by_index.entry(m.suffix.as_str()).or_default().push(m);
    }

    let mut owners = Vec::new();
    for (suffix, m) in mentions {
        let owner = if m.definers.len() == 1 {
            let path = m.definers.iter().next().unwrap().to_string();
            let source_filename = source_filenames.get(&path).cloned().flatten();
            SuffixOwner {
                suffix: suffix.clone(),
                owner: Some(path),
                source_filename,
                resolved_by: ResolvedBy::Definition,
            }
        } else if let Some(found) = by_prelink
            .get(suffix.as_str())
            .and_then(|v| agree(v, suffix, &mut problems))
        {
            SuffixOwner {
                suffix: suffix.clone(),
                owner: Some(found.path.clone()),
                source_filename: found.source_filename.clone(),
                resolved_by: ResolvedBy::Prelink,
            }
        } else if let Some(found) = by_index
            .get(suffix.as_str())
            .and_then(|v| agree_index(v, suffix, &mut problems))
        {
            let (source_filename, owner) = match &found.module {
                Some(hm) => (hm.source_filename.clone(), hm.path.clone()),
                None => (None, found.module_path.clone()),
            };
            SuffixOwner {
                suffix: suffix.clone(),
                owner: Some(owner),
                source_filename,
                resolved_by: ResolvedBy::Index,
            }
        } else {
            let (kind, message) = if m.definers.len() > 1 {
                (
                    "ambiguous_owner",
                    format!(
                        "suffix .llvm.{suffix} is defined in {} modules ({}); pass --prelink or --index to say which owns it",
                        m.definers.len(),
                        join(&m.definers)
                    ),
                )
            } else {
                (
                    "unresolved_suffix",
                    format!(
                        "no module defines suffix .llvm.{suffix} (mentioned by {}); pass the owner, --prelink or --index",
                        join(m.mentioned_by.sorted())
                    ),
                )
            };
            problems.push(Problem {
                kind,
                message,
                suffix: Some(suffix.clone()),
                modules: m
                    .mentioned_by
                    .sorted()
                    .into_iter()
                    .map(String::from)
                    .collect(),
            });
            SuffixOwner {
                suffix: suffix.clone(),
                owner: None,
                source_filename: None,
                resolved_by: ResolvedBy::Unresolved,
            }
        };
        owners.push(owner);
    }
    problems.sort();
    problems.dedup();
    (owners, problems)
}

/// The one module several `--prelink` modules with this suffix agree on
/// (same path and source file name), or a problem.
fn agree<'a>(
    found: &[&'a HashedModule],
    suffix: &str,
    problems: &mut Vec<Problem>,
) -> Option<&'a HashedModule> {
    let first = found[0];
    if found
        .iter()
        .all(|m| m.source_filename == first.source_filename)
    {
        return Some(first);
    }
    problems.push(Problem {
        kind: "conflicting_prelink",
        message: format!(
            "pre-link modules with the same hash disagree on the source file for .llvm.{suffix}: {}",
            join(found.iter().map(|m| &m.path))
        ),
        suffix: Some(suffix.to_string()),
        modules: found.iter().map(|m| m.path.clone()).collect(),
    });
    None
}

fn agree_index<'a>(
    found: &[&'a IndexedModule],
    suffix: &str,
    problems: &mut Vec<Problem>,
) -> Option<&'a IndexedModule> {
    let first = found[0];
    let same = |m: &&IndexedModule| match (&m.module, &first.module) {
        (Some(a), Some(b)) => a.source_filename == b.source_filename,
        _ => m.module_path == first.module_path,
    };
    if found.iter().all(same) {
        // Prefer an entry whose module could be read.
        return found
            .iter()
            .copied()
            .find(|m| m.module.is_some())
            .or(Some(first));
    }
    problems.push(Problem {
        kind: "conflicting_index",
        message: format!(
            "index entries with the same hash name different modules for .llvm.{suffix}: {}",
            join(
                found
                    .iter()
                    .map(|m| format!("{} in {}", m.module_path, m.index))
            )
        ),
        suffix: Some(suffix.to_string()),
        modules: found.iter().map(|m| m.index.clone()).collect(),
    });
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mentions(defs: &[&str], refs: &[&str]) -> SuffixMentions {
        SuffixMentions {
            definers: defs.iter().map(|&s| Arc::from(s)).collect(),
            mentioned_by: defs.iter().chain(refs).map(|&s| Arc::from(s)).collect(),
        }
    }

    fn sources() -> BTreeMap<String, Option<Vec<u8>>> {
        [("a.bc", "a.c"), ("b.bc", "b.c")]
            .iter()
            .map(|(p, s)| (p.to_string(), Some(s.as_bytes().to_vec())))
            .collect()
    }

    #[test]
    fn single_definer_wins() {
        let m = BTreeMap::from([("1".to_string(), mentions(&["a.bc"], &["b.bc"]))]);
        let (o, p) = resolve(&m, &sources(), &[], &[]);
        assert!(p.is_empty());
        assert_eq!(o[0].owner.as_deref(), Some("a.bc"));
        assert_eq!(o[0].source_filename.as_deref(), Some(&b"a.c"[..]));
        assert_eq!(o[0].resolved_by, ResolvedBy::Definition);
    }

    #[test]
    fn prelink_then_index_then_unresolved() {
        let m = BTreeMap::from([
            ("1".to_string(), mentions(&[], &["b.bc"])),
            ("2".to_string(), mentions(&[], &["b.bc"])),
            ("3".to_string(), mentions(&["a.bc", "b.bc"], &[])),
        ]);
        let prelink = [HashedModule {
            path: "pre/a.o".into(),
            source_filename: Some(b"x.c".to_vec()),
            suffix: "1".into(),
        }];
        let index = [IndexedModule {
            index: "b.o.thinlto.bc".into(),
            module_path: "c.o".into(),
            suffix: "2".into(),
            module: None,
        }];
        let (o, p) = resolve(&m, &sources(), &prelink, &index);
        assert_eq!(
            (o[0].resolved_by, o[0].owner.as_deref()),
            (ResolvedBy::Prelink, Some("pre/a.o"))
        );
        assert_eq!(o[0].source_filename.as_deref(), Some(&b"x.c"[..]));
        assert_eq!(
            (o[1].resolved_by, o[1].owner.as_deref()),
            (ResolvedBy::Index, Some("c.o"))
        );
        assert_eq!(o[2].resolved_by, ResolvedBy::Unresolved);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].kind, "ambiguous_owner");
        assert!(p[0].message.contains("a.bc, b.bc"), "{}", p[0].message);
    }

    /// The modules mentioning an unresolved suffix are kept as met and
    /// reported sorted, each once.
    #[test]
    fn unresolved_suffix_lists_its_modules_sorted_once() {
        let m = BTreeMap::from([(
            "1".to_string(),
            mentions(&[], &["c.bc", "a.bc", "c.bc", "b.bc", "a.bc"]),
        )]);
        let (_, p) = resolve(&m, &sources(), &[], &[]);
        assert_eq!(p[0].kind, "unresolved_suffix");
        assert_eq!(p[0].modules, ["a.bc", "b.bc", "c.bc"]);
        assert!(
            p[0].message.contains("(mentioned by a.bc, b.bc, c.bc)"),
            "{}",
            p[0].message
        );
        let reordered: Paths = ["b.bc", "a.bc", "c.bc"]
            .into_iter()
            .map(Arc::from)
            .collect();
        assert_eq!(m["1"].mentioned_by, reordered);
        assert_ne!(m["1"].mentioned_by, Paths::default());
    }

    #[test]
    fn conflicting_prelink_is_reported() {
        let m = BTreeMap::from([("1".to_string(), mentions(&[], &["b.bc"]))]);
        let prelink = [
            HashedModule {
                path: "x.o".into(),
                source_filename: Some(b"x.c".to_vec()),
                suffix: "1".into(),
            },
            HashedModule {
                path: "y.o".into(),
                source_filename: Some(b"y.c".to_vec()),
                suffix: "1".into(),
            },
        ];
        let (o, p) = resolve(&m, &sources(), &prelink, &[]);
        assert_eq!(o[0].resolved_by, ResolvedBy::Unresolved);
        assert_eq!(
            p.iter().map(|p| p.kind).collect::<Vec<_>>(),
            ["conflicting_prelink", "unresolved_suffix"]
        );
    }
}
