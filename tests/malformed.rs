//! Truncated and corrupted real bitcode: always an error with a bit offset
//! (or, for a flip that keeps the file well-formed, a result), never a panic.

mod common;

use bcrename::bitcode::BitcodeFile;
use common::*;

fn samples() -> Vec<std::path::PathBuf> {
    let t = testdata();
    vec![
        t.join("clang-19/prog/distributed/main.bc"),
        t.join("clang-19/cfi/prelink/main.o"),
        t.join("clang-14/prog/inprocess/util.o.3.import.bc"),
        t.join("clang-16/darwin/helper.o"),
        t.join("clang-19/prog/distributed/main.o.thinlto.bc"),
    ]
}

fn parse(data: &[u8]) -> bcrename::Result<BitcodeFile> {
    BitcodeFile::parse(data, bcrename::scan::scan_parse_options())
}

#[test]
fn every_truncation_is_an_error_with_a_bit_offset() {
    let mut cases = 0;
    for f in samples() {
        let data = std::fs::read(&f).unwrap();
        let full = parse(&data).unwrap();
        // Cutting exactly after a top-level block can leave a well-formed
        // file (an index needs no STRTAB).
        let boundaries: Vec<usize> = full
            .modules
            .iter()
            .map(|m| m.block.end_bit)
            .chain(full.symtabs.iter().map(|s| s.block.end_bit))
            .map(|b| (b / 8) as usize)
            .collect();
        // A wrapped file may have padding after the bitcode; cutting that is harmless.
        let (_, stream) = bcrename::bitstream::wrapper::locate(&data).unwrap();
        for len in 0..stream.end {
            let e = match parse(&data[..len]) {
                Err(e) => e,
                Ok(_) if boundaries.contains(&len) => continue,
                Ok(_) => panic!("{} truncated to {len} bytes parsed", f.display()),
            };
            assert!(e.location().is_some(), "{}: {len}: {e}", f.display());
            assert!(e.to_string().contains("at bit offset"), "{e}");
            cases += 1;
        }
    }
    assert!(cases > 20_000, "{cases}");
}

#[test]
fn bit_flips_never_panic() {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let mut errors = 0;
    let mut runs = 0;
    for f in samples() {
        let data = std::fs::read(&f).unwrap();
        for _ in 0..1500 {
            let mut d = data.clone();
            for _ in 0..1 + rng.next() % 3 {
                let bit = rng.next() as usize % (d.len() * 8);
                d[bit / 8] ^= 1 << (bit % 8);
            }
            runs += 1;
            if let Err(e) = parse(&d) {
                errors += 1;
                assert!(e.to_string().contains("bit offset"), "{e}");
            }
        }
    }
    // Most flips land in skipped blocks (metadata, instructions): those
    // files stay readable. Some must have been caught.
    assert!(errors > 50, "{errors} errors in {runs} runs");
}

#[test]
fn command_line_reports_file_and_offset_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = std::fs::read(testdata().join("clang-19/prog/distributed/util.bc")).unwrap();
    for len in [
        0,
        3,
        4,
        17,
        40,
        400,
        data.len() / 2,
        data.len() - 4,
        data.len() - 1,
    ] {
        let p = dir.path().join(format!("cut{len}.bc"));
        std::fs::write(&p, &data[..len]).unwrap();
        let out = bcrename(&["scan", p.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{len}: {err}");
        assert!(
            err.contains(p.to_str().unwrap()) && err.contains("bit offset"),
            "{len}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(out.stdout.is_empty(), "nothing is printed for a failed run");
    }
    let p = dir.path().join("text.o");
    std::fs::write(&p, b"hello world\n").unwrap();
    let out = bcrename(&["scan", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not LLVM bitcode"));
}
