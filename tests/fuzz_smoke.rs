//! The fuzz targets (see `fuzz/`) run as ordinary tests on deterministic
//! mutations of real test data, so `cargo test` exercises them on every run.

mod common;

use common::*;

fn seeds() -> Vec<Vec<u8>> {
    let t = testdata();
    [
        "clang-19/prog/distributed/main.bc",
        "clang-19/prog/inprocess/util.o.3.import.bc",
        "clang-14/prog/distributed/util.bc",
        "clang-19/cfi/prelink/main.o",
        "clang-16/darwin/helper.o",
        "clang-19/asmref/asmref.bc",
    ]
    .iter()
    .map(|p| std::fs::read(t.join(p)).unwrap())
    .collect()
}

/// Mutations as a fuzzer makes them: bit flips, byte overwrites,
/// truncation, a copied range.
fn mutate(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    match rng.next() % 4 {
        0 => {
            for _ in 0..1 + rng.next() % 4 {
                let bit = rng.next() as usize % (d.len() * 8);
                d[bit / 8] ^= 1 << (bit % 8);
            }
        }
        1 => {
            let at = rng.next() as usize % d.len();
            d[at] = rng.next() as u8;
        }
        2 => d.truncate(rng.next() as usize % d.len()),
        _ => {
            let (a, b) = (rng.next() as usize % d.len(), rng.next() as usize % d.len());
            let n = (rng.next() as usize % 64).min(d.len() - a.max(b));
            let chunk = d[a..a + n].to_vec();
            d[b..b + n].copy_from_slice(&chunk);
        }
    }
    d
}

#[test]
fn fuzz_targets_smoke() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let seeds = seeds();
    let mut runs = 0;
    for seed in &seeds {
        // The unmutated inputs, with every plan choice.
        for choice in [0u8, 1, 0x80, 0x85] {
            let mut input = vec![choice];
            input.extend_from_slice(seed);
            bcrename::fuzzing::rewrite(&input);
        }
        for _ in 0..400 {
            let m = mutate(&mut rng, seed);
            bcrename::fuzzing::reader(&m);
            bcrename::fuzzing::scan(&m);
            let mut input = vec![rng.next() as u8];
            input.extend_from_slice(&m);
            bcrename::fuzzing::rewrite(&input);
            runs += 1;
        }
    }
    assert_eq!(runs, seeds.len() * 400);
}

/// The reader target's symbol-table invariant (a table that agrees with
/// its module gives the module's summary) on tables changed a bit at a
/// time: the symbol table and the string table after it, flipped and
/// overwritten where the table's words are.
#[test]
fn symbol_tables_changed_bit_by_bit() {
    use bcrename::bitcode::symtab_names::SymtabNames;
    use bcrename::bitcode::{BitcodeFile, ParseOptions};
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut read, mut runs) = (0, 0);
    for seed in seeds() {
        let file = BitcodeFile::parse(&seed, ParseOptions::default()).unwrap();
        let Some(table) = file.symtabs.first() else {
            continue;
        };
        let from = table.blob.start;
        for _ in 0..300 {
            let mut d = seed.clone();
            for _ in 0..1 + rng.next() % 3 {
                let at = from + rng.next() as usize % (d.len() - from);
                match rng.next() % 2 {
                    0 => d[at] ^= 1 << (rng.next() % 8),
                    _ => d[at] = rng.next() as u8,
                }
            }
            read += usize::from(SymtabNames::read(&d).is_some());
            runs += 1;
            bcrename::fuzzing::reader(&d);
        }
    }
    // Many changed tables still read, so the invariant is put to the test.
    assert!(runs >= 1500 && read * 3 > runs, "{read} of {runs}");
}
