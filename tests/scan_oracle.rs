//! `scan` against llvm-dis as ground truth, on every test-data module set
//! (clang 14, 16, 19; prelink, in-process stages, distributed backends,
//! LLVM's own source-file-name build, Darwin wrapper).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use bcrename::scan::{scan, ScanOptions, ScanReport};
use common::*;

fn paths(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// Independent of the library: does `name` contain `.llvm.<digit>`?
fn has_suffix(name: &str, suffix: Option<&str>) -> bool {
    let mut rest = name;
    while let Some(i) = rest.find(".llvm.") {
        let after = &rest[i + 6..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && suffix.is_none_or(|s| s == digits) {
            return true;
        }
        rest = &rest[i + 1..];
    }
    false
}

/// Function-local names carrying a suffix, counted in llvm-dis text: block
/// labels and named values.
fn local_names_in(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            let t = l.trim_start();
            let name = if let Some(v) = t.strip_prefix('%') {
                v.split_once(" = ").map(|(n, _)| n)
            } else if !l.starts_with(' ') && !l.starts_with(';') {
                l.split_once(':')
                    .map(|(n, _)| n)
                    .filter(|n| !n.contains(' '))
            } else {
                None
            };
            name.is_some_and(|n| has_suffix(n, None))
        })
        .count()
}

fn scan_all(files: &[PathBuf]) -> ScanReport {
    scan(
        &paths(files),
        &ScanOptions {
            all: true,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn scan_matches_llvm_dis_on_every_module_set() {
    let mut checked_modules = 0;
    let mut checked_suffixes = 0;
    for (version, set, files) in module_sets() {
        let Some(dis) = llvm_tool_version("llvm-dis", version) else {
            return;
        };
        let report = scan_all(&files);
        let mut definers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut mentioned: BTreeSet<String> = BTreeSet::new();
        for file in &files {
            let path = file.to_string_lossy();
            let expected = llvm_dis(&dis, file);
            let actual: Vec<_> = report.modules.iter().filter(|m| m.path == path).collect();
            assert_eq!(
                actual.len(),
                expected.len(),
                "{set}: module count of {path}"
            );
            for (a, e) in actual.iter().zip(&expected) {
                checked_modules += 1;
                assert_eq!(
                    a.source_filename.as_deref(),
                    Some(e.source_filename.as_str()),
                    "{path}"
                );
                let mut got: Vec<_> = a
                    .symbols
                    .iter()
                    .map(|s| DisGlobal {
                        name: s.name.clone(),
                        kind: s.kind,
                        defined: s.defined,
                        linkage: s.linkage.to_string(),
                    })
                    .collect();
                got.sort();
                assert_eq!(got, e.globals, "{set}: globals of {path}");
                for s in &a.symbols {
                    assert_eq!(
                        s.suffix.is_some(),
                        has_suffix(&s.name, None),
                        "{path}: {}",
                        s.name
                    );
                }
                assert_eq!(
                    a.local_names,
                    local_names_in(&e.text),
                    "{set}: local names of {path}"
                );
                for g in &e.globals {
                    if has_suffix(&g.name, None) {
                        let s = bcrename::plan::PromotedName::parse(g.name.as_bytes())
                            .unwrap()
                            .suffix_str()
                            .to_string();
                        mentioned.insert(s.clone());
                        if g.defined && g.linkage != "available_externally" {
                            definers
                                .entry(s)
                                .or_default()
                                .insert(e.source_filename.clone());
                        }
                    }
                }
            }
        }
        let reported: BTreeSet<String> = report.suffixes.iter().map(|s| s.suffix.clone()).collect();
        assert!(
            mentioned.is_subset(&reported),
            "{set}: suffixes {mentioned:?} not all in {reported:?}"
        );
        for s in &report.suffixes {
            checked_suffixes += 1;
            let sources = definers
                .get(&s.suffix)
                .unwrap_or_else(|| panic!("{set}: nobody defines {}", s.suffix));
            assert_eq!(
                sources.len(),
                1,
                "{set}: {} defined from {sources:?}",
                s.suffix
            );
            assert_eq!(
                s.source_filename.as_ref(),
                sources.iter().next(),
                "{set}: owner of {}",
                s.suffix
            );
            assert_eq!(s.resolved_by, bcrename::plan::ResolvedBy::Definition);
        }
        assert!(
            report
                .problems
                .iter()
                .all(|p| p.kind != "unresolved_suffix" && p.kind != "ambiguous_owner"),
            "{set}: {:?}",
            report.problems
        );
        // The prelink objects and LLVM's own source-file-name build carry
        // no hash suffixes; the post-promotion stages of `prog` do.
        if set.ends_with("prelink") || set.ends_with("srcname") || set.ends_with("darwin") {
            assert!(report.suffixes.is_empty(), "{set}: {:?}", report.suffixes);
        } else if set.contains("/prog/") {
            assert!(report.suffixes.len() >= 4, "{set}: {:?}", report.suffixes);
        }
    }
    assert!(
        checked_modules > 150 && checked_suffixes > 40,
        "{checked_modules} modules, {checked_suffixes} suffixes"
    );
}

/// Each distributed backend resolves the suffixes it imports through its own
/// `*.thinlto.bc` index and the pre-link objects the index names, and gets
/// the same owners as a scan of the whole set.
#[test]
fn distributed_backend_resolves_through_its_index() {
    for v in VERSIONS {
        for prog in ["prog", "cfi"] {
            let dir = testdata().join(format!("clang-{v}/{prog}/distributed"));
            let backends: Vec<_> = backends_under(&dir);
            let whole = scan_all(&backends);
            let truth: BTreeMap<_, _> = whole
                .suffixes
                .iter()
                .map(|s| (s.suffix.clone(), s.source_filename.clone()))
                .collect();
            let mut by_index = 0;
            for b in &backends {
                let index = b.with_extension("o.thinlto.bc");
                let options = ScanOptions {
                    index: vec![index.to_string_lossy().into_owned()],
                    ..Default::default()
                };
                let alone = scan(&paths(std::slice::from_ref(b)), &options).unwrap();
                for s in &alone.suffixes {
                    assert_eq!(
                        s.source_filename,
                        truth[&s.suffix],
                        "{}: {}",
                        b.display(),
                        s.suffix
                    );
                    if s.resolved_by == bcrename::plan::ResolvedBy::Index {
                        by_index += 1;
                        assert!(s.owner.as_deref().unwrap().ends_with(".o"), "{:?}", s.owner);
                    }
                }
                assert!(
                    alone.problems.is_empty(),
                    "{}: {:?}",
                    b.display(),
                    alone.problems
                );
            }
            if prog == "prog" {
                assert!(
                    by_index >= 4,
                    "clang-{v}: only {by_index} suffixes resolved by index"
                );
            }
        }
    }
}

/// `--prelink` resolves suffixes from pre-link HASH records, to the same
/// source files a scan of the whole set finds.
#[test]
fn prelink_objects_resolve_suffixes() {
    for v in VERSIONS {
        let base = testdata().join(format!("clang-{v}/prog"));
        let stage: Vec<_> = files_under(&base.join("inprocess"))
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".5.precodegen.bc"))
            .collect();
        let whole = scan_all(&stage);
        let main = base.join("inprocess/main.o.5.precodegen.bc");
        let options = ScanOptions {
            prelink: vec![base.join("prelink").to_string_lossy().into_owned()],
            ..Default::default()
        };
        let r = scan(&paths(&[main]), &options).unwrap();
        assert!(r.suffixes.len() >= 4, "clang-{v}: {:?}", r.suffixes);
        for s in &r.suffixes {
            let truth = whole
                .suffixes
                .iter()
                .find(|w| w.suffix == s.suffix)
                .unwrap();
            assert_eq!(
                s.source_filename, truth.source_filename,
                "clang-{v}: {}",
                s.suffix
            );
            assert_eq!(s.resolved_by, bcrename::plan::ResolvedBy::Prelink);
            assert!(
                s.owner.as_deref().unwrap().contains("/prelink/"),
                "{:?}",
                s.owner
            );
        }
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    }
}

/// Without the owners, suffixes are reported unresolved, naming who mentions them.
#[test]
fn missing_owner_is_reported() {
    let main = testdata().join("clang-19/prog/inprocess/main.o.5.precodegen.bc");
    let r = scan(&paths(&[main]), &ScanOptions::default()).unwrap();
    assert!(!r.suffixes.is_empty());
    assert!(r
        .suffixes
        .iter()
        .all(|s| s.resolved_by == bcrename::plan::ResolvedBy::Unresolved && s.owner.is_none()));
    let p: Vec<_> = r
        .problems
        .iter()
        .filter(|p| p.kind == "unresolved_suffix")
        .collect();
    assert_eq!(p.len(), r.suffixes.len());
    assert!(
        p[0].message.contains("main.o.5.precodegen.bc"),
        "{}",
        p[0].message
    );
}

/// Every stage of one module defines the same suffix: that is ambiguous.
#[test]
fn two_definers_are_ambiguous() {
    let dir = testdata().join("clang-19/prog/inprocess");
    let files = [
        dir.join("util.o.3.import.bc"),
        dir.join("util.o.5.precodegen.bc"),
    ];
    let r = scan(&paths(&files), &ScanOptions::default()).unwrap();
    assert!(r
        .suffixes
        .iter()
        .all(|s| s.resolved_by == bcrename::plan::ResolvedBy::Unresolved));
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == "ambiguous_owner" && p.message.contains("util.o.3.import.bc")),
        "{:?}",
        r.problems
    );
}
