//! How new names are chosen: source-file-name suffixes (optionally after
//! prefix maps), manifests, and objcopy-style symbol renames.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};

/// The suffix LLVM's `-use-source-filename-for-promoted-locals` derives from
/// a source file name: every byte outside `[A-Za-z0-9]` becomes `_`.
pub fn sanitize_source_filename(source: &[u8]) -> Vec<u8> {
    source
        .iter()
        .map(|&b| if b.is_ascii_alphanumeric() { b } else { b'_' })
        .collect()
}

/// One `OLD=NEW` path prefix map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixMap {
    pub old: Vec<u8>,
    pub new: Vec<u8>,
}

impl PrefixMap {
    /// Parses `OLD=NEW`, split at the last `=` as GCC's -ffile-prefix-map does.
    ///
    /// # Errors
    /// A usage error when there is no `=`.
    pub fn parse(arg: &str) -> Result<PrefixMap> {
        match arg.rfind('=') {
            Some(i) => Ok(PrefixMap {
                old: arg.as_bytes()[..i].to_vec(),
                new: arg.as_bytes()[i + 1..].to_vec(),
            }),
            None => Err(Error::new(
                ErrorKind::Usage,
                format!("--prefix-map {arg:?}: expected OLD=NEW"),
            )),
        }
    }
}

/// Applies prefix maps to a path: plain byte-prefix match; when several
/// match, the last one given wins.
pub fn apply_prefix_maps(maps: &[PrefixMap], path: &[u8]) -> Vec<u8> {
    match maps.iter().rev().find(|m| path.starts_with(&m.old)) {
        Some(m) => {
            let mut out = m.new.clone();
            out.extend_from_slice(&path[m.old.len()..]);
            out
        }
        None => path.to_vec(),
    }
}

/// How suffixes are chosen for owners with a known source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuffixPolicy {
    SourceFilename,
    PrefixMap(Vec<PrefixMap>),
}

impl SuffixPolicy {
    /// The new suffix for an owner whose source file is `source`.
    pub fn suffix_for(&self, source: &[u8]) -> Vec<u8> {
        match self {
            SuffixPolicy::SourceFilename => sanitize_source_filename(source),
            SuffixPolicy::PrefixMap(maps) => {
                sanitize_source_filename(&apply_prefix_maps(maps, source))
            }
        }
    }
}

/// A manifest: explicit suffix and symbol renames (JSON, `"version": 1`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Old suffix digits -> new suffix.
    pub suffixes: BTreeMap<String, String>,
    /// Old symbol name -> new name.
    pub symbols: BTreeMap<String, String>,
    /// Owner source_filename -> new suffix (hand-written manifests).
    pub sources: BTreeMap<String, String>,
    /// Old source_filename -> new (written by `--plan-out` with
    /// `--remap-source-filename`).
    pub source_filenames: BTreeMap<String, String>,
}

fn string_map(v: Option<&Value>, what: &str, file: &str) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let Some(v) = v else { return Ok(out) };
    let obj = v
        .as_object()
        .ok_or_else(|| usage(file, format!("\"{what}\" must be an object")))?;
    for (k, v) in obj {
        let s = v
            .as_str()
            .ok_or_else(|| usage(file, format!("\"{what}\".{k:?} must be a string")))?;
        if k.is_empty() || s.is_empty() {
            return Err(usage(
                file,
                format!("\"{what}\" has an empty name ({k:?}: {s:?})"),
            ));
        }
        out.insert(k.clone(), s.to_string());
    }
    Ok(out)
}

fn usage(file: &str, m: String) -> Error {
    Error::new(ErrorKind::Usage, format!("manifest {file}: {m}"))
}

impl Manifest {
    /// Parses a manifest. `file` names it in errors.
    ///
    /// # Errors
    /// Invalid JSON, another version, unknown keys, non-string values, empty
    /// names, or suffix keys that are not digits.
    pub fn parse(text: &[u8], file: &str) -> Result<Manifest> {
        let v: Value =
            serde_json::from_slice(text).map_err(|e| usage(file, format!("invalid JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| usage(file, "expected a JSON object".into()))?;
        match obj.get("version") {
            Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
            other => {
                return Err(usage(
                    file,
                    format!("\"version\" must be 1, found {other:?}"),
                ))
            }
        }
        if let Some(k) = obj.keys().find(|k| {
            ![
                "version",
                "suffixes",
                "symbols",
                "sources",
                "source_filenames",
            ]
            .contains(&k.as_str())
        }) {
            return Err(usage(file, format!("unknown key {k:?}")));
        }
        let m = Manifest {
            suffixes: string_map(obj.get("suffixes"), "suffixes", file)?,
            symbols: string_map(obj.get("symbols"), "symbols", file)?,
            sources: string_map(obj.get("sources"), "sources", file)?,
            source_filenames: string_map(obj.get("source_filenames"), "source_filenames", file)?,
        };
        if let Some(k) = m
            .suffixes
            .keys()
            .find(|k| !k.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(usage(
                file,
                format!("suffix {k:?} is not the digits of a .llvm.<digits> suffix"),
            ));
        }
        Ok(m)
    }
}

/// One exact symbol rename.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Redefine {
    pub old: Vec<u8>,
    pub new: Vec<u8>,
    /// Where it was given, for messages.
    pub origin: String,
}

/// Parses `--redefine-sym OLD=NEW` (split at the first `=`, as objcopy).
///
/// # Errors
/// A usage error without `=` or with an empty side.
pub fn parse_redefine_sym(arg: &str) -> Result<Redefine> {
    match arg.split_once('=') {
        Some((o, n)) if !o.is_empty() && !n.is_empty() => Ok(Redefine {
            old: o.as_bytes().to_vec(),
            new: n.as_bytes().to_vec(),
            origin: format!("--redefine-sym {arg}"),
        }),
        _ => Err(Error::new(
            ErrorKind::Usage,
            format!("--redefine-sym {arg:?}: expected OLD=NEW"),
        )),
    }
}

/// Parses an objcopy `--redefine-syms` file: one `old new` pair per line,
/// white-space separated, `#` starts a comment.
///
/// # Errors
/// A usage error naming the file and line for a line without exactly two names.
pub fn parse_redefine_syms(text: &[u8], file: &str) -> Result<Vec<Redefine>> {
    let mut out = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = match line.iter().position(|&b| b == b'#') {
            Some(p) => &line[..p],
            None => line,
        };
        let words: Vec<&[u8]> = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
            .collect();
        match words.as_slice() {
            [] => {}
            [o, n] => out.push(Redefine {
                old: o.to_vec(),
                new: n.to_vec(),
                origin: format!("{file}:{}", i + 1),
            }),
            _ => {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!(
                        "{file}:{}: expected `old new`, found {} names",
                        i + 1,
                        words.len()
                    ),
                ))
            }
        }
    }
    Ok(out)
}

/// Checks a set of renames as objcopy does: an old name given twice, or a
/// name given as the target of two renames, is an error.
///
/// # Errors
/// A usage error naming both places.
pub fn check_redefines(all: &[Redefine]) -> Result<BTreeMap<Vec<u8>, Vec<u8>>> {
    let mut by_old: BTreeMap<&[u8], &Redefine> = BTreeMap::new();
    let mut by_new: BTreeMap<&[u8], &Redefine> = BTreeMap::new();
    for r in all {
        if let Some(prev) = by_old.insert(&r.old, r) {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "symbol {} is renamed twice ({} and {})",
                    show(&r.old),
                    prev.origin,
                    r.origin
                ),
            ));
        }
        if let Some(prev) = by_new.insert(&r.new, r) {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "{} is the new name of two symbols ({} and {})",
                    show(&r.new),
                    prev.origin,
                    r.origin
                ),
            ));
        }
    }
    Ok(all.iter().map(|r| (r.old.clone(), r.new.clone())).collect())
}

/// A name for messages.
pub fn show(name: &[u8]) -> String {
    format!("`{}`", String::from_utf8_lossy(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_like_llvm() {
        assert_eq!(sanitize_source_filename(b"a/helper.c"), b"a_helper_c");
        assert_eq!(sanitize_source_filename(b"/abs/x-y.cpp"), b"_abs_x_y_cpp");
    }

    #[test]
    fn prefix_maps_split_at_last_equals_and_last_wins() {
        let m = PrefixMap::parse("/a=b=/c").unwrap();
        assert_eq!(
            (m.old.as_slice(), m.new.as_slice()),
            (&b"/a=b"[..], &b"/c"[..])
        );
        let maps = [
            PrefixMap::parse("/src=.").unwrap(),
            PrefixMap::parse("/src/lib=L").unwrap(),
        ];
        assert_eq!(apply_prefix_maps(&maps, b"/src/lib/x.c"), b"L/x.c");
        assert_eq!(apply_prefix_maps(&maps, b"/src/y.c"), b"./y.c");
        assert_eq!(apply_prefix_maps(&maps, b"/other/y.c"), b"/other/y.c");
        assert!(PrefixMap::parse("nothing").is_err());
    }

    #[test]
    fn manifest_parsing() {
        let m = Manifest::parse(
            br#"{"version":1,"suffixes":{"123":"a_c"},"symbols":{"f":"g"},"sources":{"x.c":"X"}}"#,
            "m",
        )
        .unwrap();
        assert_eq!(m.suffixes["123"], "a_c");
        assert_eq!(m.symbols["f"], "g");
        assert_eq!(m.sources["x.c"], "X");
        for bad in [
            &br#"{"version":2}"#[..],
            br#"{"version":1,"extra":{}}"#,
            br#"{"version":1,"suffixes":{"12a":"x"}}"#,
            br#"{"version":1,"symbols":{"f":1}}"#,
            br#"{"version":1,"symbols":{"f":""}}"#,
            b"not json",
        ] {
            assert_eq!(
                Manifest::parse(bad, "m").unwrap_err().kind(),
                ErrorKind::Usage,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn redefine_files_and_checks() {
        let r = parse_redefine_syms(b"# comment\n a b \n\nc d # tail\n", "f").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].origin, "f:4");
        assert!(parse_redefine_syms(b"a b c\n", "f")
            .unwrap_err()
            .to_string()
            .contains("f:1"));
        assert!(parse_redefine_syms(b"a\n", "f").is_err());
        // Swaps are fine (simultaneous renames).
        let swap = [
            parse_redefine_sym("a=b").unwrap(),
            parse_redefine_sym("b=a").unwrap(),
        ];
        assert_eq!(check_redefines(&swap).unwrap().len(), 2);
        let twice = [
            parse_redefine_sym("a=b").unwrap(),
            parse_redefine_sym("a=c").unwrap(),
        ];
        assert!(check_redefines(&twice)
            .unwrap_err()
            .to_string()
            .contains("renamed twice"));
        let same_target = [
            parse_redefine_sym("a=c").unwrap(),
            parse_redefine_sym("b=c").unwrap(),
        ];
        assert!(check_redefines(&same_target)
            .unwrap_err()
            .to_string()
            .contains("new name of two"));
        assert!(parse_redefine_sym("a").is_err() && parse_redefine_sym("=b").is_err());
    }
}
