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

/// A block boundary met by a walk (kind, bit, block id), and the error a
/// walk stopped at (bit, message).
type Walk = (Vec<(char, u64, u32)>, Option<(u64, String)>);

/// What a walk of the whole stream meets.
fn walk(data: &[u8], fast: bool) -> Walk {
    use bcrename::bitstream::reader::{Entry, Operands, Reader};
    let mut seen = Vec::new();
    let Ok((_, stream)) = bcrename::bitstream::wrapper::locate(data) else {
        return (seen, Some((0, "no stream".into())));
    };
    let namer = bcrename::bitcode::codes::block_name;
    let mut r = match Reader::new(data, stream.start, stream.end, 4, namer) {
        Ok(r) => r,
        Err(e) => {
            return (
                seen,
                Some((e.location().map_or(0, |l| l.bit), e.to_string())),
            )
        }
    };
    // Constants keep only inline asm operands in the fast walk, as the
    // parser reads them.
    const ASM: &[u32] = &[30, 18, 23, 28];
    loop {
        let in_function = r.current_block() == Some(12);
        let in_constants = r.current_block() == Some(11);
        r.set_operands(if fast && in_constants {
            Operands::Of(ASM)
        } else {
            Operands::All
        });
        let next = if fast && in_function {
            r.next_block_boundary()
        } else {
            r.next_entry()
        };
        match next {
            Ok(None) => return (seen, None),
            Ok(Some(Entry::SubBlock(h))) => {
                seen.push(('{', h.start_bit, h.id));
                if let Err(e) = r.enter() {
                    return (
                        seen,
                        Some((e.location().map_or(0, |l| l.bit), e.to_string())),
                    );
                }
            }
            Ok(Some(Entry::BlockInfo(h))) => seen.push(('i', h.start_bit, h.id)),
            Ok(Some(Entry::EndBlock { start_bit, .. })) => seen.push(('}', start_bit, 0)),
            Ok(Some(Entry::Record(rec))) => {
                if in_constants && ASM.contains(&rec.code) {
                    seen.push(('a', rec.start_bit, rec.ops.len() as u32));
                }
            }
            Ok(Some(Entry::DefineAbbrev { .. })) => {}
            Err(e) => {
                return (
                    seen,
                    Some((e.location().map_or(0, |l| l.bit), e.to_string())),
                )
            }
        }
    }
}

/// The fast path over instructions (`Reader::next_block_boundary`, and
/// `Operands::Of` in constants) meets the same blocks and fails at the same
/// bit with the same message as the record-by-record walk: on every test
/// file, every truncation of a sample, and thousands of bit flips.
#[test]
fn fast_walk_agrees_with_the_full_walk() {
    let mut files = files_under(&testdata());
    files.retain(|f| bcrename::bitstream::wrapper::looks_like_bitcode(&std::fs::read(f).unwrap()));
    assert!(files.len() > 100, "{}", files.len());
    let mut compared = 0;
    let mut failures = 0;
    let mut check = |data: &[u8], what: &str| {
        let full = walk(data, false);
        let fast = walk(data, true);
        assert_eq!(full, fast, "{what}");
        compared += 1;
        failures += usize::from(full.1.is_some());
    };
    let mut with_functions = 0;
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let (seen, err) = walk(&data, false);
        assert!(err.is_none(), "{}: {err:?}", f.display());
        with_functions += usize::from(seen.iter().any(|s| s == &('{', s.1, 12)));
        check(&data, &f.display().to_string());
    }
    assert!(
        with_functions > 100,
        "{with_functions} files with function blocks"
    );
    let mut rng = Rng(0x51f0_77ed_a11c_e5e5);
    for f in samples() {
        let data = std::fs::read(&f).unwrap();
        for len in (0..data.len()).step_by(7) {
            check(&data[..len], &format!("{} cut at {len}", f.display()));
        }
        for i in 0..1000 {
            let mut d = data.clone();
            let bit = rng.next() as usize % (d.len() * 8);
            d[bit / 8] ^= 1 << (bit % 8);
            check(&d, &format!("{} flip {i} at bit {bit}", f.display()));
        }
    }
    assert!(failures > 1000, "{failures} of {compared} walks failed");
}
