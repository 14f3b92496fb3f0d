//! Hand-made malformed inputs, one per way a bitstream can be broken (issue
//! 6): each makes `scan` and `rename` exit 2 with a message naming the file
//! and a bit offset, and write nothing.

mod common;

use std::path::Path;

use bcrename::bitstream::wrapper::RAW_MAGIC;
use bcrename::bitstream::BitWriter;
use common::*;

/// A stream: magic, a MODULE_BLOCK (abbreviation width 3) holding VERSION 2
/// and whatever `body` writes, and nothing after.
fn module(body: impl FnOnce(&mut BitWriter)) -> Vec<u8> {
    let mut w = BitWriter::new();
    w.emit_bytes(&RAW_MAGIC);
    let open = w.enter_block(2, 8, 3);
    w.emit_unabbrev(3, 1, &[2]);
    body(&mut w);
    w.end_block(open);
    w.into_bytes()
}

/// A module whose body is raw bits that do not close the block.
fn module_raw(body: impl FnOnce(&mut BitWriter), words: u32) -> Vec<u8> {
    let mut w = BitWriter::new();
    w.emit_bytes(&RAW_MAGIC);
    w.emit(1, 2); // ENTER_SUBBLOCK
    w.emit_vbr(8, 8);
    w.emit_vbr(3, 4);
    w.align32();
    w.emit(u64::from(words), 32);
    body(&mut w);
    w.align32();
    w.into_bytes()
}

fn cases() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let valid = module(|_| {});
    let mut wrong_wrapper = Vec::new();
    for v in [0x0B17C0DEu32, 0, 20, 4096, 7] {
        wrong_wrapper.extend_from_slice(&v.to_le_bytes());
    }
    wrong_wrapper.extend_from_slice(&valid);
    let mut odd_size = valid.clone();
    odd_size.extend_from_slice(&[0, 0]);
    vec![
        ("empty", Vec::new(), "file too short"),
        (
            "not-bitcode",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0".to_vec(),
            "not LLVM bitcode",
        ),
        ("wrong-wrapper-size", wrong_wrapper, "outside the"),
        ("size-not-multiple-of-4", odd_size, "not a multiple of 4"),
        (
            "unknown-abbreviation-id",
            module(|w| w.emit(5, 3)), // no abbreviation defined
            "unknown abbreviation id 5",
        ),
        (
            "blob-past-the-end",
            module(|w| {
                // DEFINE_ABBREV [literal 1, blob], then a record claiming 4000 bytes.
                w.emit(2, 3);
                w.emit_vbr(2, 5);
                w.emit(1, 1);
                w.emit_vbr(1, 8);
                w.emit(0, 1);
                w.emit(5, 3);
                w.emit(4, 3);
                w.emit_vbr(4000, 6);
            }),
            "blob of 4000 bytes runs past the end",
        ),
        (
            "unterminated-vbr",
            module_raw(
                |w| {
                    w.emit(3, 3); // UNABBREV_RECORD
                    for _ in 0..40 {
                        w.emit(0b111111, 6); // continuation bits forever
                    }
                },
                8,
            ),
            "variable-width integer",
        ),
        (
            "absurd-array-length",
            module(|w| {
                // DEFINE_ABBREV [literal 1, array of fixed(8)], count 2^40.
                w.emit(2, 3);
                w.emit_vbr(3, 5);
                w.emit(1, 1);
                w.emit_vbr(1, 8);
                w.emit(0, 1);
                w.emit(3, 3);
                w.emit(0, 1);
                w.emit(1, 3);
                w.emit_vbr(8, 5);
                w.emit(4, 3);
                w.emit_vbr(1 << 40, 6);
            }),
            "array of 1099511627776 elements runs past the end",
        ),
        (
            "deep-nesting",
            {
                let mut w = BitWriter::new();
                w.emit_bytes(&RAW_MAGIC);
                let mut opens = Vec::new();
                let mut width = 2;
                for _ in 0..100 {
                    opens.push(w.enter_block(width, 8, 3));
                    width = 3;
                }
                while let Some(o) = opens.pop() {
                    w.end_block(o);
                }
                w.into_bytes()
            },
            "nested in a module",
        ),
        (
            "vstoffset-pointing-nowhere",
            module(|w| {
                // VSTOFFSET [1000] with the fixed 32-bit abbreviation LLVM uses.
                w.emit(2, 3);
                w.emit_vbr(2, 5);
                w.emit(1, 1);
                w.emit_vbr(13, 8);
                w.emit(0, 1);
                w.emit(1, 3);
                w.emit_vbr(32, 5);
                w.emit(4, 3);
                w.emit(1000, 32);
            }),
            "VSTOFFSET points to bit",
        ),
        (
            "block-longer-than-file",
            module_raw(|w| w.emit(0, 3), 1_000_000),
            "runs past the end of the data",
        ),
        (
            "record-before-version",
            {
                let mut w = BitWriter::new();
                w.emit_bytes(&RAW_MAGIC);
                let open = w.enter_block(2, 8, 3);
                w.emit_unabbrev(3, 16, &[97]);
                w.end_block(open);
                w.into_bytes()
            },
            "before MODULE_CODE_VERSION",
        ),
    ]
}

#[test]
fn every_malformed_case_exits_2_with_file_and_offset_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let all = cases();
    assert!(all.len() >= 12);
    for (name, bytes, expected) in &all {
        let file = d.join(format!("{name}.bc"));
        std::fs::write(&file, bytes).unwrap();
        let f = file.to_str().unwrap();
        for args in [
            vec!["scan", f],
            vec!["rename", "--redefine-sym", "a=b", "--out-dir", "out", f],
        ] {
            let out = bcrename_in(d, &args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name} {args:?}: {err}");
            assert!(
                err.contains(f),
                "{name}: the message does not name the file: {err}"
            );
            assert!(
                err.contains(expected),
                "{name}: expected {expected:?} in {err}"
            );
            if !bytes.is_empty() && *name != "not-bitcode" {
                assert!(err.contains("bit offset"), "{name}: no bit offset in {err}");
            }
            assert!(!out.stderr.is_empty() && out.stdout.is_empty());
            assert!(
                !Path::new(&d.join("out")).exists(),
                "{name}: output written"
            );
        }
    }
    assert_no_temporaries(d);
    // Reading every block (dump) meets the nesting limit itself.
    let deep = d.join("deep-nesting.bc");
    let out = bcrename(&["dump", deep.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nested deeper than 64"));
}

/// The hand-made well-formed module is accepted, so the cases above fail
/// for the reason they name, not for a flaw of the harness.
#[test]
fn the_harness_module_itself_is_valid() {
    let bytes = module(|_| {});
    let f = bcrename::bitcode::BitcodeFile::parse(&bytes, Default::default()).unwrap();
    assert_eq!(f.modules.len(), 1);
    assert_eq!(f.modules[0].version, 2);
}
