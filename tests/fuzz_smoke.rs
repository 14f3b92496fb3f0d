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
