//! The bitstream reader against `llvm-bcanalyzer -dump`: for every test-data
//! file, the same blocks (ids, lengths, abbreviation widths) and the same
//! records (codes, abbreviation ids, operand values), in the same order.

mod common;

use std::process::Command;

use bcrename::bitstream::dump::{dump, DumpOptions};
use common::*;

/// Normalises llvm-bcanalyzer's `-dump -non-symbolic` output to the lines
/// of bcrename's dump (without blob lengths, which LLVM does not print as
/// numbers).
fn normalise_llvm(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut open: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("Summary of") {
            break;
        }
        let t = line.trim_start();
        let Some(tag) = t.strip_prefix('<') else {
            continue;
        };
        let tag = &tag[..tag.find('>').expect(line) + 1];
        let depth = "  ".repeat(open.len());
        if tag.starts_with('/') {
            let id = open.pop().expect("balanced blocks");
            out.push(format!("{}END {id}", "  ".repeat(open.len())));
            continue;
        }
        let body = tag.trim_end_matches('>').trim_end_matches('/');
        let mut words = body.split_whitespace();
        let name = words.next().unwrap();
        let attrs: Vec<(&str, &str)> = words.filter_map(|w| w.split_once('=')).collect();
        let get = |k: &str| attrs.iter().find(|(a, _)| *a == k).map(|(_, v)| *v);
        let hex =
            |k: &str| u64::from_str_radix(get(k).unwrap().trim_start_matches("0x"), 16).unwrap();
        if name == "BITCODE_WRAPPER_HEADER" {
            out.push(format!(
                "WRAPPER version={} offset={} size={} cputype={}",
                hex("Version"),
                hex("Offset"),
                hex("Size"),
                hex("CPUType")
            ));
        } else if name == "BLOCKINFO_BLOCK" {
            out.push(format!("{depth}BLOCKINFO"));
        } else if let Some(id) = get("BlockID").or_else(|| name.strip_prefix("UnknownBlock")) {
            out.push(format!(
                "{depth}BLOCK {id} words={} width={}",
                get("NumWords").unwrap(),
                get("BlockCodeSize").unwrap()
            ));
            open.push(id.to_string());
        } else {
            let code = get("codeid")
                .map(str::to_string)
                .or_else(|| name.strip_prefix("UnknownCode").map(str::to_string))
                .expect(line);
            let mut s = format!("{depth}RECORD {code}");
            if let Some(a) = get("abbrevid") {
                s.push_str(&format!(" abbrev={a}"));
            }
            let ops: Vec<&str> = attrs
                .iter()
                .filter(|(k, _)| k.starts_with("op"))
                .map(|(_, v)| *v)
                .collect();
            if !ops.is_empty() {
                s.push(':');
                for op in ops {
                    // Some operands are printed as signed 64-bit values.
                    let v: u64 = match op.parse::<i64>() {
                        Ok(n) if n < 0 => n as u64,
                        _ => op.parse().expect(line),
                    };
                    s.push_str(&format!(" {v}"));
                }
            }
            out.push(s);
        }
    }
    out
}

fn normalise_ours(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            let l = match l.find(" blob=") {
                Some(i) => {
                    let rest = &l[i + 6..];
                    let end = rest
                        .find(|c: char| !c.is_ascii_digit())
                        .unwrap_or(rest.len());
                    format!("{}{}", &l[..i], &rest[end..])
                }
                None => l.to_string(),
            };
            match l.trim_start().strip_prefix("BLOCKINFO words=") {
                Some(_) => format!("{}BLOCKINFO", &l[..l.len() - l.trim_start().len()]),
                None => l,
            }
        })
        .collect()
}

#[test]
fn dump_agrees_with_llvm_bcanalyzer_on_all_test_data() {
    let Some(bca) = llvm_tool("llvm-bcanalyzer") else {
        return;
    };
    let files = files_under(&testdata());
    assert!(files.len() > 200, "{} files", files.len());
    let mut records = 0;
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let ours = dump(
            &data,
            bcrename::bitcode::codes::block_name,
            DumpOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let out = Command::new(&bca)
            .args(["-dump", "-non-symbolic"])
            .arg(f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "llvm-bcanalyzer failed on {}",
            f.display()
        );
        let llvm = normalise_llvm(&String::from_utf8_lossy(&out.stdout));
        let ours = normalise_ours(&ours);
        records += ours.len();
        if ours != llvm {
            let at = ours
                .iter()
                .zip(&llvm)
                .position(|(a, b)| a != b)
                .unwrap_or(ours.len().min(llvm.len()));
            panic!(
                "{}: first difference at line {at}:\n  ours: {:?}\n  llvm: {:?}",
                f.display(),
                ours.get(at),
                llvm.get(at)
            );
        }
    }
    assert!(records > 50_000, "{records} lines compared");
}
