//! Fuzz entry points, shared by the cargo-fuzz targets in `fuzz/` and by
//! seeded smoke tests under `cargo test` (`tests/fuzz_smoke.rs`). Each must
//! never panic on any input; where an input is accepted, the invariants
//! below must hold, and a violation panics (that is a finding).

use crate::bitcode::rewrite::rewrite as rewrite_file;
use crate::bitcode::symtab_names::{agrees, SymtabNames};
use crate::bitcode::{BitcodeFile, ParseOptions};
use crate::bitstream::dump::{dump, DumpOptions};
use crate::plan::build::{ModuleSummary, Plan};
use crate::plan::PromotedName;
use crate::scan::scan_parse_options;

/// The bitstream reader and the bitcode layer on raw bytes.
/// Invariants: function bodies read the quick way give what the usual way
/// gives (the same parse, or the same error); where a module's symbol
/// table is read and agrees with its records, it gives the summary its
/// records give (what lets `rename` plan from the table).
pub fn reader(data: &[u8]) {
    let quick = BitcodeFile::parse(data, scan_parse_options());
    let usual_bodies = ParseOptions {
        usual_bodies: true,
        ..scan_parse_options()
    };
    let usual = BitcodeFile::parse(data, usual_bodies);
    match (&quick, &usual) {
        (Ok(q), Ok(u)) => assert_eq!(q, u, "quick and usual reads of the bodies differ"),
        (Err(q), Err(u)) => assert_eq!(q.to_string(), u.to_string()),
        _ => panic!("quick and usual reads of the bodies disagree: {quick:?} against {usual:?}"),
    }
    let _ = dump(
        data,
        crate::bitcode::codes::block_name,
        DumpOptions { abbrevs: true },
    );
    symtab_summary(data);
}

fn symtab_summary(data: &[u8]) {
    let Some(names) = SymtabNames::read(data) else {
        return;
    };
    let module_level = ParseOptions {
        local_names: None,
        skip_symbol_tables: false,
        ..ParseOptions::default()
    };
    let Ok(file) = BitcodeFile::parse(data, module_level) else {
        return;
    };
    let Some(m) = file.modules.first() else {
        return;
    };
    if agrees(&file, data, m, |n| !crate::plan::names::carries_suffix(n)) {
        assert_eq!(
            ModuleSummary::of_symtab("input", &names),
            ModuleSummary::of("input", m),
            "a symbol table that agrees with its module gives its summary"
        );
    }
}

/// Reader and rewriter: `data[0]` chooses a plan, the rest is bitcode.
/// Invariants: a rewritten file parses and dumps again, and renaming it
/// again with the same plan changes nothing more.
pub fn rewrite(data: &[u8]) {
    let Some((&choice, bitcode)) = data.split_first() else {
        return;
    };
    let Ok(file) = BitcodeFile::parse(bitcode, scan_parse_options()) else {
        return;
    };
    let mut plan = Plan::default();
    let mut suffixes = rustc_hash::FxHashMap::default();
    for m in &file.modules {
        for name in m.globals.iter().map(|g| g.name.as_slice()).chain(
            m.functions
                .iter()
                .flat_map(|f| f.local_names.iter().map(|l| l.name.as_slice())),
        ) {
            if let Some(p) = PromotedName::parse(name) {
                let n = suffixes.len();
                suffixes
                    .entry(p.suffix.to_vec())
                    .or_insert_with(|| format!("fz{}_{n}", choice % 7).into_bytes());
            }
        }
        if choice & 0x80 != 0 {
            if let Some(g) = m.globals.iter().find(|g| !g.name.is_empty()) {
                let mut new = g.name.to_vec();
                new.extend_from_slice(b".renamed");
                plan.symbols.insert(g.name.to_vec(), new);
            }
        }
    }
    plan.suffixes = suffixes;
    let Ok(out) = rewrite_file(bitcode, &file, &plan) else {
        return;
    };
    let Some(bytes) = out.bytes else { return };
    let again =
        BitcodeFile::parse(&bytes, scan_parse_options()).expect("a rewritten file parses again");
    // Blocks bcrename skips are copied as they are, even if broken; a file
    // whose every block reads must still read after the rewrite.
    if dump(
        bitcode,
        crate::bitcode::codes::block_name,
        DumpOptions::default(),
    )
    .is_ok()
    {
        dump(
            &bytes,
            crate::bitcode::codes::block_name,
            DumpOptions::default(),
        )
        .expect("a rewritten file dumps");
    }
    // The new names no longer carry the old suffixes: a second pass with
    // the same suffix plan finds nothing to rename. (Except for names
    // promoted twice, `f.llvm.1.llvm.2`: once the outer suffix is renamed
    // the inner one is the rightmost `.llvm.<digits>` token.)
    let promoted_twice = file
        .modules
        .iter()
        .flat_map(|m| &m.globals)
        .any(|g| crate::plan::names::suffix_tokens(&g.name).len() > 1)
        || file
            .modules
            .iter()
            .flat_map(|m| &m.functions)
            .flat_map(|f| &f.local_names)
            .any(|l| crate::plan::names::suffix_tokens(&l.name).len() > 1);
    if promoted_twice {
        return;
    }
    plan.symbols.clear();
    let second = rewrite_file(&bytes, &again, &plan).expect("a rewritten file rewrites again");
    assert!(
        second.bytes.is_none(),
        "renaming the output again changed it: {:?}",
        second.changes
    );
}

/// `scan` on arbitrary input: parse, then build the report.
pub fn scan(data: &[u8]) {
    let Ok(bitcode) = BitcodeFile::parse(data, scan_parse_options()) else {
        return;
    };
    let refs: Vec<_> = bitcode
        .modules
        .iter()
        .filter(|m| !m.is_index())
        .map(|m| crate::plan::ModuleRef {
            path: "fuzz.bc",
            module: m,
        })
        .collect();
    let (mentions, sources) =
        crate::plan::build::collect_mentions(crate::plan::build::summaries(&refs));
    let _ = crate::plan::owners::resolve(&mentions, &sources, &[], &[]);
    let _ = crate::plan::build::build(
        &refs,
        &[],
        &[],
        &crate::plan::PlanOptions {
            policy: Some(crate::plan::policy::SuffixPolicy::SourceFilename),
            keep_unresolved: true,
            ..Default::default()
        },
    );
}
