//! The LLVM engine and `verify` (cargo feature `llvm`): both engines give the
//! same llvm-dis text on every single-module test file and several plans;
//! `verify` accepts every honest pair and rejects pairs that differ in
//! anything but names.
#![cfg(feature = "llvm")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// llvm-dis text without what legitimately differs between engines: the
/// module ID, the ThinLTO summary (the LLVM engine writes none) and the
/// `; preds =` comments (their order follows use lists, which LLVM's C API
/// writer does not preserve).
fn text(dis: &Path, f: &Path) -> String {
    let out = Command::new(dis)
        .arg(f)
        .arg("-o")
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success(), "llvm-dis cannot read {}", f.display());
    let t = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = t
        .lines()
        .filter(|l| !l.starts_with('^'))
        .map(|l| l.find("; preds = ").map_or(l, |i| &l[..i]))
        .collect();
    normalise_ll(&lines.join("\n"))
}

fn single_module_sets() -> Vec<(String, Vec<PathBuf>)> {
    module_sets()
        .into_iter()
        .filter(|(_, set, _)| !(set.contains("/cfi/") && set.ends_with("prelink")))
        .map(|(_, s, f)| (s, f))
        .collect()
}

#[test]
fn engines_agree_and_verify_accepts_every_output() {
    let Some(dis) = llvm_tool("llvm-dis") else {
        return;
    };
    let mut compared = 0;
    let mut verified = 0;
    for (set, files) in single_module_sets() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let rels = copy_set(&common_base(&files), &files, &d.join("in"));
        let plans: [&[&str]; 2] = [
            &["--policy", "source-filename"],
            &[
                "--policy",
                "source-filename",
                "--redefine-sym",
                "main=main_renamed",
            ],
        ];
        for (pi, plan) in plans.iter().enumerate() {
            let run = |engine: &str| {
                let out_dir = format!("{engine}{pi}");
                let mut args = vec![
                    "rename",
                    "--engine",
                    engine,
                    "--out-dir",
                    &out_dir,
                    "--map-out",
                ];
                let map = format!("{engine}{pi}.json");
                args.push(&map);
                args.extend_from_slice(plan);
                args.push("in");
                ok(&bcrename_in(d, &args));
            };
            run("native");
            run("llvm");
            for rel in &rels {
                let native = d.join(format!("native{pi}")).join(rel);
                let llvm = d.join(format!("llvm{pi}")).join(rel);
                assert!(
                    text(&dis, &native) == text(&dis, &llvm),
                    "{set} plan {pi}: engines differ on {}",
                    rel.display()
                );
                compared += 1;
                if pi == 0 {
                    let v = bcrename_in(
                        d,
                        &[
                            "verify",
                            &format!("in/{}", rel.display()),
                            native.to_str().unwrap(),
                            "--map",
                            &format!("native{pi}.json"),
                        ],
                    );
                    assert_eq!(
                        v.status.code(),
                        Some(0),
                        "{set}: verify rejects {}: {}",
                        rel.display(),
                        String::from_utf8_lossy(&v.stdout)
                    );
                    verified += 1;
                }
            }
            let maps: Vec<String> = ["native", "llvm"]
                .iter()
                .map(|e| std::fs::read_to_string(d.join(format!("{e}{pi}.json"))).unwrap())
                .collect();
            assert_eq!(
                maps[0], maps[1],
                "{set}: the engines report different renames"
            );
        }
    }
    assert!(
        compared > 250 && verified > 120,
        "{compared} compared, {verified} verified"
    );
}

#[test]
fn llvm_engine_refuses_what_it_cannot_do() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Two modules in one file.
    let cfi = testdata().join("clang-19/cfi/prelink/shapes.o");
    let out = bcrename_in(
        d,
        &[
            "rename",
            "--engine",
            "llvm",
            "--redefine-sym",
            "_Z11make_squarei=x",
            "-o",
            "o.bc",
            cfi.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("split LTO unit"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!d.join("o.bc").exists());
    // Older input: a warning that the output is LLVM 19 bitcode.
    let old = testdata().join("clang-14/prog/distributed/util.bc");
    let out = bcrename_in(
        d,
        &[
            "rename",
            "--engine",
            "llvm",
            "--redefine-sym",
            "util_compute=x",
            "-o",
            "o.bc",
            old.to_str().unwrap(),
        ],
    );
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("writes LLVM 19 bitcode"));
    let pre = testdata().join("clang-19/prog/prelink/util.o");
    let out = bcrename_in(
        d,
        &[
            "rename",
            "--engine",
            "llvm",
            "--redefine-sym",
            "util_compute=x",
            "-o",
            "o.bc",
            pre.to_str().unwrap(),
        ],
    );
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("drops the ThinLTO summary"));
}

/// Mutates one instruction or one operand through llvm-dis / llvm-as and
/// expects `verify` to reject the pair and say where.
#[test]
fn verify_rejects_anything_but_names() {
    let (Some(dis), Some(asm)) = (llvm_tool("llvm-dis"), llvm_tool("llvm-as")) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dist = testdata().join("clang-19/prog/distributed");
    let files: Vec<_> = [
        "main.bc",
        "util.bc",
        "a/helper.bc",
        "b/helper.bc",
        "alias.bc",
        "asm.bc",
    ]
    .iter()
    .map(|f| dist.join(f))
    .collect();
    copy_set(&dist, &files, &d.join("in"));
    ok(&bcrename_in(
        d,
        &[
            "rename",
            "--policy",
            "source-filename",
            "--out-dir",
            "out",
            "--map-out",
            "map.json",
            "in",
        ],
    ));
    let ll = String::from_utf8(
        Command::new(&dis)
            .arg(d.join("out/util.bc"))
            .arg("-o")
            .arg("-")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let mutations: [(&str, &str, &str); 3] = [
        // An operand: a constant in one instruction.
        (
            "add nsw i32 %0, 7",
            "add nsw i32 %0, 8",
            "op_add.llvm.util_c",
        ),
        // An instruction: add becomes sub.
        (
            "add nsw i32 %0, 7",
            "sub nsw i32 %0, 7",
            "op_add.llvm.util_c",
        ),
        // A name the map does not allow.
        ("@square.llvm.util_c(", "@square.llvm.elsewhere(", "square"),
    ];
    for (i, (from, to, where_)) in mutations.iter().enumerate() {
        assert!(ll.contains(from), "test data changed: {from} not found");
        let mutated = ll.replacen(from, to, if from.starts_with('@') { usize::MAX } else { 1 });
        let src = d.join(format!("m{i}.ll"));
        std::fs::write(&src, mutated).unwrap();
        let out_bc = d.join(format!("m{i}.bc"));
        let st = Command::new(&asm)
            .arg(&src)
            .arg("-o")
            .arg(&out_bc)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        let v = bcrename_in(
            d,
            &[
                "verify",
                "in/util.bc",
                out_bc.to_str().unwrap(),
                "--map",
                "map.json",
            ],
        );
        let report = String::from_utf8_lossy(&v.stdout);
        assert_eq!(v.status.code(), Some(1), "mutation {i} accepted: {report}");
        assert!(
            report.contains(where_),
            "mutation {i}: report does not say where: {report}"
        );
    }
    // The honest pair passes, with and without the map.
    ok(&bcrename_in(
        d,
        &["verify", "in/util.bc", "out/util.bc", "--map", "map.json"],
    ));
    ok(&bcrename_in(d, &["verify", "in/util.bc", "out/util.bc"]));
}
