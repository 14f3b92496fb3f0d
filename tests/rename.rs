//! `rename` with the native engine, on every test-data module set, with
//! LLVM as the oracle: llvm-dis of each output equals llvm-dis of its input
//! with the renames applied (and LLVM's own source-file-name build where it
//! exists); outputs are read by the LLVM that wrote the input; renamed
//! programs link and run; output is deterministic and idempotent; every
//! error exits 2 and writes nothing.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn sanitize(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                b as char
            } else {
                '_'
            }
        })
        .collect()
}

/// Suffix digits -> source-file-name suffix, from scanning `dir`.
fn expected_suffixes(files: &[PathBuf]) -> BTreeMap<String, String> {
    let paths: Vec<String> = files
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let r = bcrename::scan::scan(&paths, &Default::default()).unwrap();
    r.suffixes
        .iter()
        .map(|s| {
            (
                s.suffix.clone(),
                sanitize(s.source_filename.as_deref().unwrap()),
            )
        })
        .collect()
}

#[test]
fn source_filename_policy_matches_llvm_on_every_module_set() {
    let Some(bca) = llvm_tool("llvm-bcanalyzer") else {
        return;
    };
    let mut renamed_files = 0;
    let mut identical_to_llvm = 0;
    for (version, set, files) in module_sets() {
        // Two-module files cannot go through llvm-dis to stdout.
        if set.contains("/cfi/") && set.ends_with("prelink") {
            continue;
        }
        let Some(dis_tool) = llvm_tool_version("llvm-dis", version) else {
            return;
        };
        let tmp = tempfile::tempdir().unwrap();
        let base = common_base(&files);
        let rels = copy_set(&base, &files, &tmp.path().join("in"));
        ok(&bcrename_in(
            tmp.path(),
            &[
                "rename",
                "--policy",
                "source-filename",
                "--out-dir",
                "out",
                "in",
            ],
        ));
        let suffixes = expected_suffixes(&files);
        for rel in &rels {
            let (input, output) = (
                tmp.path().join("in").join(rel),
                tmp.path().join("out").join(rel),
            );
            let before = std::fs::read(&input).unwrap();
            let after = std::fs::read(&output).unwrap();
            let expected = normalise_ll(&substitute_suffixes(&dis(&dis_tool, &input), &suffixes));
            let actual = normalise_ll(&dis(&dis_tool, &output));
            assert!(
                expected == actual,
                "{set}: {}: llvm-dis differs from the substituted input",
                rel.display()
            );
            if before != after {
                renamed_files += 1;
            } else {
                assert!(!expected.contains(".llvm.1") || suffixes.is_empty());
            }
            let st = Command::new(&bca)
                .arg("-dump")
                .arg(&output)
                .output()
                .unwrap();
            assert!(
                st.status.success(),
                "{set}: bcanalyzer rejects {}",
                rel.display()
            );
            // LLVM's own build with the same names.
            if set.contains("5.precodegen") {
                let reference = testdata()
                    .join(format!(
                        "clang-{version}/{}/srcname",
                        if set.contains("/cfi/") { "cfi" } else { "prog" }
                    ))
                    .join(rel);
                if reference.exists() {
                    assert_eq!(
                        actual,
                        normalise_ll(&dis(&dis_tool, &reference)),
                        "{set}: {} vs LLVM",
                        rel.display()
                    );
                    if after == std::fs::read(&reference).unwrap() {
                        identical_to_llvm += 1;
                    }
                }
            }
        }
    }
    assert!(renamed_files > 60, "{renamed_files} files renamed");
    // Byte-identical to LLVM's -use-source-filename-for-promoted-locals
    // output except where a function-local table was reordered.
    assert!(
        identical_to_llvm >= 10,
        "{identical_to_llvm} byte-identical to LLVM"
    );
}

fn link_and_run(objs: &[PathBuf], dir: &Path, extra: &[&str]) -> String {
    let clang = llvm_tool("clang").expect("checked by the caller");
    let exe = dir.join("prog");
    let mut cmd = Command::new(&clang);
    cmd.args(extra)
        .arg("-fuse-ld=lld")
        .args(objs)
        .arg("-o")
        .arg(&exe);
    if extra.iter().any(|a| a.contains("cfi")) {
        cmd.arg("-lstdc++");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "link failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());
    String::from_utf8(run.stdout).unwrap()
}

/// Renamed post-optimisation bitcode (in-process and distributed) compiles
/// without further optimisation, links and runs as before.
#[test]
fn renamed_programs_link_and_run() {
    let Some(clang) = llvm_tool("clang") else {
        return;
    };
    for v in VERSIONS {
        let expected =
            std::fs::read_to_string(testdata().join(format!("clang-{v}/prog/expected.txt")))
                .unwrap();
        for stage in ["inprocess", "distributed"] {
            let files: Vec<_> = files_under(&testdata().join(format!("clang-{v}/prog/{stage}")))
                .into_iter()
                .filter(|p| {
                    let s = p.to_string_lossy();
                    if stage == "inprocess" {
                        s.ends_with(".5.precodegen.bc")
                    } else {
                        s.ends_with(".bc") && !s.ends_with(".thinlto.bc")
                    }
                })
                .collect();
            let tmp = tempfile::tempdir().unwrap();
            let rels = copy_set(&common_base(&files), &files, &tmp.path().join("in"));
            ok(&bcrename_in(
                tmp.path(),
                &[
                    "rename",
                    "--policy",
                    "source-filename",
                    "--out-dir",
                    "out",
                    "in",
                ],
            ));
            let mut objs = Vec::new();
            for (i, rel) in rels.iter().enumerate() {
                let obj = tmp.path().join(format!("{i}.o"));
                let st = Command::new(&clang)
                    .args(["-c", "-O2", "-Xclang", "-disable-llvm-passes"])
                    .arg(tmp.path().join("out").join(rel))
                    .arg("-o")
                    .arg(&obj)
                    .output()
                    .unwrap();
                assert!(
                    st.status.success(),
                    "{}",
                    String::from_utf8_lossy(&st.stderr)
                );
                objs.push(obj);
            }
            assert_eq!(
                link_and_run(&objs, tmp.path(), &[]),
                expected,
                "clang-{v} {stage}"
            );
            // The binary really carries the new names.
            let nm = Command::new(llvm_tool("llvm-nm").unwrap())
                .arg(tmp.path().join("prog"))
                .output()
                .unwrap();
            let syms = String::from_utf8_lossy(&nm.stdout);
            assert!(
                syms.contains("square.llvm.util_c") && !syms.contains(".llvm.1"),
                "{syms}"
            );
        }
    }
}

/// The same bytes for two runs and any --jobs; a second rename changes nothing.
#[test]
fn output_is_deterministic_and_idempotent() {
    for v in VERSIONS {
        let files: Vec<_> = backends_under(&testdata().join(format!("clang-{v}/prog/distributed")));
        let tmp = tempfile::tempdir().unwrap();
        copy_set(&common_base(&files), &files, &tmp.path().join("in"));
        let run = |out: &str, jobs: &str| {
            ok(&bcrename_in(
                tmp.path(),
                &[
                    "rename",
                    "--policy",
                    "source-filename",
                    "--jobs",
                    jobs,
                    "--out-dir",
                    out,
                    "in",
                ],
            ))
        };
        run("o1", "1");
        run("o2", "4");
        run("o3", "2");
        let o1 = dir_bytes(&tmp.path().join("o1"));
        assert_eq!(
            o1,
            dir_bytes(&tmp.path().join("o2")),
            "clang-{v}: --jobs changes output"
        );
        assert_eq!(
            o1,
            dir_bytes(&tmp.path().join("o3")),
            "clang-{v}: two runs differ"
        );
        // The input has work to do; the output has none.
        let check = |dir: &str| {
            bcrename_in(
                tmp.path(),
                &["rename", "--policy", "source-filename", "--check", dir],
            )
            .status
            .code()
        };
        assert_eq!(check("in"), Some(1));
        assert_eq!(
            check("o1"),
            Some(0),
            "clang-{v}: renaming again would change names"
        );
        ok(&bcrename_in(
            tmp.path(),
            &[
                "rename",
                "--policy",
                "source-filename",
                "--out-dir",
                "again",
                "o1",
            ],
        ));
        assert_eq!(dir_bytes(&tmp.path().join("again")), o1);
    }
}

/// Input order does not change the bytes: the set given in reverse order
/// through a response file gives the same outputs.
#[test]
fn input_order_does_not_matter() {
    let files: Vec<_> = files_under(&testdata().join("clang-19/prog/inprocess"))
        .into_iter()
        .filter(|p| {
            p.to_string_lossy().ends_with(".5.precodegen.bc")
                && !p.to_string_lossy().contains("/b/")
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let mut names: Vec<String> = files
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    // b/helper.o is left out (same file name as a/helper.o); its suffix is
    // resolved through the pre-link objects instead.
    let prelink = testdata()
        .join("clang-19/prog/prelink")
        .to_string_lossy()
        .into_owned();
    let run = |names: &[String], out: &str| {
        let rsp = tmp.path().join(format!("{out}.rsp"));
        std::fs::write(&rsp, names.join("\n")).unwrap();
        ok(&bcrename_in(
            tmp.path(),
            &[
                "rename",
                "--policy",
                "source-filename",
                "--prelink",
                &prelink,
                "--out-dir",
                out,
                &format!("@{}", rsp.display()),
            ],
        ));
        dir_bytes(&tmp.path().join(out))
    };
    let forward = run(&names, "fwd");
    names.reverse();
    assert_eq!(forward, run(&names, "rev"));
    assert_eq!(forward.len(), 5);
}

/// `--plan-out` once, then `--manifest plan.json` per module, gives the
/// bytes of the whole-set run.
#[test]
fn plan_applied_to_a_subset_gives_the_same_bytes() {
    for v in VERSIONS {
        let files: Vec<_> = files_under(&testdata().join(format!("clang-{v}/prog/inprocess")))
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".3.import.bc"))
            .collect();
        let tmp = tempfile::tempdir().unwrap();
        let rels = copy_set(&common_base(&files), &files, &tmp.path().join("in"));
        ok(&bcrename_in(
            tmp.path(),
            &[
                "rename",
                "--policy",
                "source-filename",
                "--out-dir",
                "all",
                "--plan-out",
                "plan.json",
                "in",
            ],
        ));
        let plan: serde_json::Value =
            serde_json::from_slice(&std::fs::read(tmp.path().join("plan.json")).unwrap()).unwrap();
        assert_eq!(plan["version"], 1);
        assert!(plan["suffixes"].as_object().unwrap().len() >= 4, "{plan}");
        for rel in &rels {
            let input = format!("in/{}", rel.display());
            ok(&bcrename_in(
                tmp.path(),
                &["rename", "--manifest", "plan.json", "-o", "one.bc", &input],
            ));
            assert_eq!(
                std::fs::read(tmp.path().join("one.bc")).unwrap(),
                std::fs::read(tmp.path().join("all").join(rel)).unwrap(),
                "clang-{v}: {}",
                rel.display()
            );
        }
    }
}

/// An empty plan gives back the input bytes; -o - writes the same bytes as -o FILE.
#[test]
fn empty_plan_and_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let f = testdata().join("clang-19/prog/distributed/util.bc");
    let fs = f.to_str().unwrap();
    ok(&bcrename_in(
        tmp.path(),
        &[
            "rename",
            "--redefine-sym",
            "no_such_symbol=x",
            "-o",
            "same.bc",
            fs,
        ],
    ));
    assert_eq!(
        std::fs::read(tmp.path().join("same.bc")).unwrap(),
        std::fs::read(&f).unwrap()
    );
    let verbose = bcrename_in(
        tmp.path(),
        &[
            "rename",
            "--redefine-sym",
            "no_such_symbol=x",
            "--dry-run",
            fs,
        ],
    );
    assert!(
        String::from_utf8_lossy(&verbose.stdout).contains("no_such_symbol -> x matches no symbol")
    );
    ok(&bcrename_in(
        tmp.path(),
        &[
            "rename",
            "--redefine-sym",
            "util_compute=uc2",
            "-o",
            "a.bc",
            fs,
        ],
    ));
    let piped = bcrename_in(
        tmp.path(),
        &[
            "rename",
            "--redefine-sym",
            "util_compute=uc2",
            "-o",
            "-",
            fs,
        ],
    );
    ok(&piped);
    assert_eq!(
        piped.stdout,
        std::fs::read(tmp.path().join("a.bc")).unwrap()
    );
}

/// The module HASH as `llvm-bcanalyzer -check-hash` recomputes it.
fn hash_matches(bca: &Path, file: &Path) -> bool {
    let data = std::fs::read(file).unwrap();
    let parsed = bcrename::bitcode::BitcodeFile::parse(&data, Default::default()).unwrap();
    let m = &parsed.modules[0];
    let strtab = parsed.strtab(&data, m);
    let end = m
        .globals
        .iter()
        .map(|g| g.name_ref)
        .chain(m.globals.iter().filter_map(|g| g.partition.map(|p| p.1)))
        .chain(m.comdats.iter().map(|c| c.name_ref))
        .map(|r| (r.offset + r.size) as usize)
        .max()
        .unwrap_or(0);
    let prefix = String::from_utf8(strtab[..end].to_vec()).unwrap();
    let out = Command::new(bca)
        .arg("-dump")
        .arg(format!("-check-hash={prefix}"))
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("HASH"), "no HASH in {}", file.display());
    text.contains("(match)") && !text.contains("mismatch")
}

/// Pre-link ThinLTO objects (summary, HASH, and CFI's two-module files)
/// renamed with --redefine-sym still link through ThinLTO and run, and their
/// HASH is what LLVM recomputes.
#[test]
fn prelink_objects_renamed_with_redefine_sym_link_and_run() {
    let (Some(bca), Some(_)) = (llvm_tool("llvm-bcanalyzer"), llvm_tool("clang")) else {
        return;
    };
    for v in VERSIONS {
        for (prog, sym, flags) in [
            ("prog", "util_compute", vec!["-O2", "-flto=thin"]),
            (
                "cfi",
                "_Z11make_squarei",
                vec![
                    "-O2",
                    "-flto=thin",
                    "-fsanitize=cfi",
                    "-fvisibility=hidden",
                    "-fno-sanitize-trap=all",
                    "-fsanitize-trap=cfi",
                ],
            ),
        ] {
            let base = testdata().join(format!("clang-{v}/{prog}"));
            let files = files_under(&base.join("prelink"));
            let tmp = tempfile::tempdir().unwrap();
            let rels = copy_set(&base.join("prelink"), &files, &tmp.path().join("in"));
            // LLVM's own HASH does not always match its bytes: a split LTO
            // unit renames symbols after hashing. After a rename it always does.
            let original_matches = rels
                .iter()
                .filter(|rel| hash_matches(&bca, &tmp.path().join("in").join(rel)))
                .count();
            assert!(
                original_matches >= 2,
                "clang-{v} {prog}: {original_matches} original hashes match"
            );
            let redefine = format!("{sym}={sym}_renamed");
            ok(&bcrename_in(
                tmp.path(),
                &[
                    "rename",
                    "--redefine-sym",
                    &redefine,
                    "--out-dir",
                    "out",
                    "--map-out",
                    "map.json",
                    "in",
                ],
            ));
            let map: serde_json::Value =
                serde_json::from_slice(&std::fs::read(tmp.path().join("map.json")).unwrap())
                    .unwrap();
            assert!(map["renames"].as_array().unwrap().len() >= 2, "{map}");
            let mut objs = Vec::new();
            for rel in &rels {
                let out = tmp.path().join("out").join(rel);
                assert!(
                    hash_matches(&bca, &out),
                    "clang-{v} {prog}: HASH of renamed {}",
                    rel.display()
                );
                objs.push(out);
            }
            let expected = std::fs::read_to_string(base.join("expected.txt")).unwrap();
            assert_eq!(
                link_and_run(&objs, tmp.path(), &flags),
                expected,
                "clang-{v} {prog}"
            );
            let nm = Command::new(llvm_tool("llvm-nm").unwrap())
                .arg(tmp.path().join("prog"))
                .output()
                .unwrap();
            assert!(String::from_utf8_lossy(&nm.stdout).contains(&format!("{sym}_renamed")));
        }
    }
}

fn fails_and_writes_nothing(dir: &Path, args: &[&str], message: &str) {
    let out = bcrename_in(dir, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.contains(message),
        "{args:?}: expected {message:?} in {err}"
    );
    assert!(!dir.join("out").exists(), "{args:?} wrote outputs");
    assert!(!dir.join("map.json").exists(), "{args:?} wrote a map");
    assert_no_temporaries(dir);
}

#[test]
fn every_error_exits_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let inproc = testdata().join("clang-19/prog/inprocess");
    let files: Vec<_> = files_under(&inproc)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".5.precodegen.bc"))
        .collect();
    copy_set(&inproc, &files, &d.join("in"));
    let prelink = testdata().join("clang-19/prog/prelink");
    copy_set(&prelink, &files_under(&prelink), &d.join("pre"));
    let scan = bcrename::scan::scan(
        &["in".to_string()].map(|s| d.join(s).to_string_lossy().into_owned()),
        &Default::default(),
    )
    .unwrap();
    let helper_suffixes: Vec<String> = scan
        .suffixes
        .iter()
        .filter(|s| s.source_filename.as_deref().unwrap().ends_with("helper.c"))
        .map(|s| s.suffix.clone())
        .collect();
    let clash = format!(
        r#"{{"version":1,"suffixes":{{"{}":"same","{}":"same"}}}}"#,
        helper_suffixes[0], helper_suffixes[1]
    );
    std::fs::write(d.join("clash.json"), clash).unwrap();
    std::fs::write(d.join("bad.json"), "{\"version\":1,").unwrap();
    std::fs::write(d.join("bad.syms"), "a b\nc d e\n").unwrap();
    let base = ["--out-dir", "out", "--map-out", "map.json"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        extra.iter().copied().chain(base).collect()
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            with(&["rename", "--manifest", "clash.json", "in"]),
            "would both be renamed to `scale.llvm.same`",
        ),
        (
            with(&[
                "rename",
                "--redefine-sym",
                "util_compute=util_counter_value",
                "pre",
            ]),
            "collides with the existing `util_counter_value`",
        ),
        (
            with(&[
                "rename",
                "--policy",
                "source-filename",
                "in/main.o.5.precodegen.bc",
            ]),
            "cannot be renamed",
        ),
        (
            with(&["rename", "--redefine-sym", "asm_target=asm_target2", "pre"]),
            "module asm in pre/asm.o names `asm_target`",
        ),
        (
            with(&["rename", "--manifest", "bad.json", "in"]),
            "invalid JSON",
        ),
        (
            with(&["rename", "--redefine-syms", "bad.syms", "in"]),
            "bad.syms:2",
        ),
        (
            with(&[
                "rename",
                "--redefine-sym",
                "a=b",
                "--redefine-sym",
                "a=c",
                "in",
            ]),
            "renamed twice",
        ),
        (
            with(&[
                "rename",
                "--policy",
                "source-filename",
                "in/a/helper.o.5.precodegen.bc",
                "in/b/helper.o.5.precodegen.bc",
            ]),
            "would both be written to",
        ),
        (
            with(&["rename", "--policy", "prefix-map", "in"]),
            "needs at least one --prefix-map",
        ),
        (with(&["rename", "in"]), "nothing to rename"),
        (
            vec!["rename", "--policy", "source-filename", "in"],
            "say where to write",
        ),
        (
            vec!["rename", "--policy", "source-filename", "-o", "x.bc", "in"],
            "exactly one input",
        ),
        (
            vec![
                "rename",
                "--policy",
                "source-filename",
                "--in-place",
                "--out-dir",
                "out",
                "in",
            ],
            "exclude each other",
        ),
        (
            vec![
                "rename",
                "--redefine-sym",
                "util_compute=x",
                "-o",
                "pre/util.o",
                "pre/util.o",
            ],
            "use --in-place",
        ),
    ];
    for (args, message) in cases {
        fails_and_writes_nothing(d, &args, message);
    }
    // Which collision is reported does not depend on the order of inputs.
    let mut listed: Vec<String> = files_under(&d.join("in"))
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut errors = Vec::new();
    for _ in 0..2 {
        let mut args = vec!["rename", "--manifest", "clash.json", "--dry-run"];
        args.extend(listed.iter().map(String::as_str));
        let out = bcrename_in(d, &args);
        assert_eq!(out.status.code(), Some(2));
        errors.push(String::from_utf8_lossy(&out.stderr).into_owned());
        listed.reverse();
    }
    assert_eq!(errors[0], errors[1]);
    // Inline asm in a function names a global too.
    let asmref = testdata().join("clang-19/asmref/asmref.bc");
    fails_and_writes_nothing(
        d,
        &[
            "rename",
            "--redefine-sym",
            "asmref_value=v2",
            "--out-dir",
            "out",
            asmref.to_str().unwrap(),
        ],
        "inline asm in asmref_caller",
    );
    // With --keep-unresolved the lone module is renamed as far as possible.
    ok(&bcrename_in(
        d,
        &[
            "rename",
            "--policy",
            "source-filename",
            "--keep-unresolved",
            "--dry-run",
            "in/main.o.5.precodegen.bc",
        ],
    ));
    // --allow-asm-references lets the asm rename through.
    ok(&bcrename_in(
        d,
        &[
            "rename",
            "--redefine-sym",
            "asm_target=asm_target2",
            "--allow-asm-references",
            "--dry-run",
            "pre",
        ],
    ));
}

#[test]
fn in_place_is_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dist = testdata().join("clang-19/prog/distributed");
    let rels = copy_backends(&dist, &d.join("in"));
    let before = dir_bytes(&d.join("in"));
    // One malformed input: nothing is touched.
    std::fs::write(d.join("in/broken.bc"), &before[&rels[0]][..100]).unwrap();
    let out = bcrename_in(
        d,
        &["rename", "--policy", "source-filename", "--in-place", "in"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.bc"));
    std::fs::remove_file(d.join("in/broken.bc")).unwrap();
    assert_eq!(dir_bytes(&d.join("in")), before);
    // A destination that cannot be written: no output at all, no temporaries.
    std::fs::create_dir_all(d.join("out")).unwrap();
    std::fs::write(d.join("out/a"), "a file where a directory must go").unwrap();
    let out = bcrename_in(
        d,
        &[
            "rename",
            "--policy",
            "source-filename",
            "--out-dir",
            "out",
            "in",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written: Vec<_> = std::fs::read_dir(d.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(written, ["a"], "partial output left behind");
    // Success: every changed file replaced, mode kept, no temporaries.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d.join("in/main.bc"), std::fs::Permissions::from_mode(0o640)).unwrap();
    ok(&bcrename_in(
        d,
        &["rename", "--policy", "source-filename", "--in-place", "in"],
    ));
    let after = dir_bytes(&d.join("in"));
    assert_eq!(after.len(), before.len());
    assert!(after
        .iter()
        .all(|(k, v)| *v != before[k] || !String::from_utf8_lossy(v).contains(".llvm.")));
    assert_ne!(
        after[&PathBuf::from("main.bc")],
        before[&PathBuf::from("main.bc")]
    );
    assert_eq!(
        std::fs::metadata(d.join("in/main.bc"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o640
    );
    assert_no_temporaries(d);
}

/// --policy prefix-map rewrites the source file name before sanitising;
/// the map lists every rename with its module and kind; a manifest's
/// `sources` and a --redefine-syms file combine with it.
#[test]
fn prefix_map_manifest_sources_redefine_file_and_map() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let base = testdata().join("clang-19/prog/distributed");
    copy_backends(&base, &d.join("in"));
    std::fs::write(
        d.join("syms.txt"),
        "# exact renames\nutil_compute   compute_v2\nhelper_a helper_one # trailing\n",
    )
    .unwrap();
    std::fs::write(
        d.join("m.json"),
        r#"{"version":1,"sources":{"util.c":"UTIL"}}"#,
    )
    .unwrap();
    ok(&bcrename_in(
        d,
        &[
            "rename",
            "--policy",
            "prefix-map",
            "--prefix-map",
            "a/=lib/alpha/",
            "--prefix-map",
            "b/=lib/beta/",
            "--manifest",
            "m.json",
            "--redefine-syms",
            "syms.txt",
            "--out-dir",
            "out",
            "--map-out",
            "map.json",
            "in",
        ],
    ));
    let map: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("map.json")).unwrap()).unwrap();
    let renames = map["renames"].as_array().unwrap();
    let find_kind = |module: &str, old_prefix: &str, kind: &str| {
        renames
            .iter()
            .find(|r| {
                r["module"].as_str().unwrap().ends_with(module)
                    && r["old"].as_str().unwrap().starts_with(old_prefix)
                    && (kind.is_empty() || r["kind"] == kind)
            })
            .unwrap_or_else(|| panic!("no rename of {old_prefix} in {module}: {map}"))
            .clone()
    };
    let find = |module: &str, old_prefix: &str| find_kind(module, old_prefix, "");
    assert_eq!(
        find("in/a/helper.bc", "scale.llvm.")["new"],
        "scale.llvm.lib_alpha_helper_c"
    );
    assert_eq!(
        find("in/b/helper.bc", "scale.llvm.")["new"],
        "scale.llvm.lib_beta_helper_c"
    );
    assert_eq!(
        find("in/util.bc", "square.llvm.")["new"],
        "square.llvm.UTIL"
    );
    assert_eq!(
        find_kind("in/main.bc", "mix.llvm.", "local")["new"],
        "mix.llvm.UTIL.exit"
    );
    assert_eq!(
        find_kind("in/main.bc", "mix.llvm.", "function")["new"],
        "mix.llvm.UTIL"
    );
    assert_eq!(find("in/util.bc", "util_compute")["new"], "compute_v2");
    assert_eq!(find("in/util.bc", "util_compute")["kind"], "function");
    assert_eq!(find("in/main.bc", "counter.llvm.")["kind"], "variable");
    // Sorted by module, then old name.
    let keys: Vec<(String, String)> = renames
        .iter()
        .map(|r| {
            (
                r["module"].as_str().unwrap().into(),
                r["old"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    if let Some(tool) = llvm_tool("llvm-dis") {
        let text = dis(&tool, &d.join("out/main.bc"));
        assert!(
            text.contains("@compute_v2(") && text.contains("mix.llvm.UTIL.exit:"),
            "{text}"
        );
        assert!(dis(&tool, &d.join("out/a/helper.bc")).contains("@helper_one("));
    }
}

/// A new suffix outside the Char6 alphabet no longer fits the abbreviation
/// the local names came with: the writer falls back to one that fits, as
/// LLVM would pick it. A symbol table of unknown version is dropped with a
/// warning (the linker rebuilds it).
#[test]
fn abbreviation_fallback_and_unknown_symbol_table() {
    let Some(tool) = llvm_tool("llvm-dis") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let base = testdata().join("clang-19/prog/distributed");
    let main = base.join("main.bc");
    let scan =
        bcrename::scan::scan(&[base.to_string_lossy().into_owned()], &Default::default()).unwrap();
    let util = scan
        .suffixes
        .iter()
        .find(|s| s.source_filename.as_deref() == Some("util.c"))
        .unwrap();
    std::fs::write(
        d.join("m.json"),
        format!(
            r#"{{"version":1,"suffixes":{{"{}":"util-c"}}}}"#,
            util.suffix
        ),
    )
    .unwrap();
    ok(&bcrename_in(
        d,
        &[
            "rename",
            "--manifest",
            "m.json",
            "-o",
            "out.bc",
            main.to_str().unwrap(),
        ],
    ));
    let mut map = BTreeMap::new();
    map.insert(util.suffix.clone(), "util-c".to_string());
    let expected = normalise_ll(&substitute_suffixes(&dis(&tool, &main), &map));
    let actual = normalise_ll(&dis(&tool, &d.join("out.bc")));
    assert!(
        expected == actual,
        "llvm-dis of the output differs from the substituted input"
    );
    assert!(
        actual.contains("\nmix.llvm.util-c.exit: "),
        "the renamed label is missing"
    );

    // Patch the symbol table's version word to an unknown one.
    let pre = testdata().join("clang-19/prog/prelink/util.o");
    let mut data = std::fs::read(&pre).unwrap();
    let parsed = bcrename::bitcode::BitcodeFile::parse(&data, Default::default()).unwrap();
    let at = parsed.symtabs[0].blob.start;
    data[at..at + 4].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(d.join("v99.o"), &data).unwrap();
    let out = bcrename_in(
        d,
        &[
            "rename",
            "--redefine-sym",
            "util_compute=uc",
            "-o",
            "v99.out.o",
            "v99.o",
        ],
    );
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("dropped the symbol table: version 99"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = bcrename::bitcode::BitcodeFile::parse(
        &std::fs::read(d.join("v99.out.o")).unwrap(),
        Default::default(),
    )
    .unwrap();
    assert!(after.symtabs.is_empty());
    assert!(dis(&tool, &d.join("v99.out.o")).contains("@uc("));
    let scan = bcrename::scan::scan(
        &[d.join("v99.o").to_string_lossy().into_owned()],
        &Default::default(),
    )
    .unwrap();
    assert_eq!(scan.problems[0].kind, "unknown_symtab_version");
}

/// Found by the rewrite fuzz target: an exact rename whose new name keeps
/// a promotion suffix (`counter.llvm.N` -> `counter.llvm.N.renamed`) with a
/// policy also given. The suffix of the new name is renamed too, so a
/// second run with the same options changes nothing.
#[test]
fn regression_redefined_name_keeping_a_suffix_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dist = testdata().join("clang-19/prog/distributed");
    let files: Vec<_> = ["main.bc", "util.bc"]
        .iter()
        .map(|f| dist.join(f))
        .collect();
    copy_set(&dist, &files, &d.join("in"));
    let scan = bcrename::scan::scan(
        &[d.join("in").to_string_lossy().into_owned()],
        &Default::default(),
    )
    .unwrap();
    let counter = scan
        .modules
        .iter()
        .flat_map(|m| &m.symbols)
        .find(|s| s.name.starts_with("counter.llvm."))
        .unwrap()
        .name
        .clone();
    let redefine = format!("{counter}={counter}.renamed");
    let args = [
        "rename",
        "--policy",
        "source-filename",
        "--keep-unresolved",
        "--redefine-sym",
        &redefine,
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        args.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let run = |a: Vec<String>| bcrename_in(d, &a.iter().map(String::as_str).collect::<Vec<_>>());
    ok(&run(with(&["--out-dir", "o1", "in"])));
    let text = String::from_utf8_lossy(&std::fs::read(d.join("o1/util.bc")).unwrap()).into_owned();
    assert!(
        text.contains("counter.llvm.util_c.renamed"),
        "the exact rename's result was not renamed by the policy"
    );
    assert_eq!(run(with(&["--check", "o1"])).status.code(), Some(0));
}

/// A full device among the outputs (`--map-out /dev/full`) fails the run
/// before any file is replaced: no output, no temporaries, no directory.
/// A file with two hard links: the path renamed gets the new content, the
/// other link keeps the old one.
#[test]
fn disk_full_and_hard_links() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let f = testdata().join("clang-19/prog/distributed/util.bc");
    std::fs::create_dir_all(d.join("in")).unwrap();
    std::fs::copy(&f, d.join("in/util.bc")).unwrap();
    if Path::new("/dev/full").exists() {
        let out = bcrename_in(
            d,
            &[
                "rename",
                "--redefine-sym",
                "util_compute=uc",
                "--out-dir",
                "out",
                "--map-out",
                "/dev/full",
                "in",
            ],
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("/dev/full"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !d.join("out").exists(),
            "outputs were written before the failing device"
        );
        let out = bcrename_in(
            d,
            &[
                "rename",
                "--redefine-sym",
                "util_compute=uc",
                "--in-place",
                "--map-out",
                "/dev/full",
                "in",
            ],
        );
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            std::fs::read(d.join("in/util.bc")).unwrap(),
            std::fs::read(&f).unwrap(),
            "the input was replaced"
        );
        assert_no_temporaries(d);
    }
    std::fs::hard_link(d.join("in/util.bc"), d.join("cache-copy.bc")).unwrap();
    ok(&bcrename_in(
        d,
        &[
            "rename",
            "--redefine-sym",
            "util_compute=uc",
            "--in-place",
            "in/util.bc",
        ],
    ));
    assert_ne!(
        std::fs::read(d.join("in/util.bc")).unwrap(),
        std::fs::read(&f).unwrap()
    );
    assert_eq!(
        std::fs::read(d.join("cache-copy.bc")).unwrap(),
        std::fs::read(&f).unwrap(),
        "the other hard link changed"
    );
}

/// Renames suffix 3607746445660035257 to 1111 in global names only,
/// leaving the local label `mix.llvm.3607746445660035257.exit`: a module
/// whose only mention of a suffix is a function-local name, as when an
/// imported function was inlined and its declaration dropped.
fn module_with_a_local_only_suffix(dir: &Path) -> PathBuf {
    use bcrename::bitcode::rewrite::{rewrite, Renamer};
    use bcrename::bitcode::{BitcodeFile, ParseOptions};
    struct GlobalsOnly;
    impl Renamer for GlobalsOnly {
        fn global(&self, name: &[u8]) -> Option<Vec<u8>> {
            let s = std::str::from_utf8(name).ok()?;
            s.contains(".llvm.3607746445660035257").then(|| {
                s.replace(".llvm.3607746445660035257", ".llvm.1111")
                    .into_bytes()
            })
        }
        fn local(&self, _: &[u8]) -> Option<Vec<u8>> {
            None
        }
        fn source_filename(&self, _: &[u8]) -> Option<Vec<u8>> {
            None
        }
    }
    let data = std::fs::read(testdata().join("clang-19/prog/distributed/main.bc")).unwrap();
    let file = BitcodeFile::parse(&data, ParseOptions::default()).unwrap();
    let out = rewrite(&data, &file, &GlobalsOnly).unwrap().bytes.unwrap();
    let p = dir.join("main.bc");
    std::fs::write(&p, out).unwrap();
    p
}

/// A plan is made from module-level names first; a local name with a
/// suffix no global carries sends the run back to plan with function
/// bodies read, so the label is renamed (or reported) all the same.
#[test]
fn a_suffix_only_a_local_name_carries_is_planned_too() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let input = module_with_a_local_only_suffix(d);
    let scan = bcrename(&["scan", "--json", input.to_str().unwrap()]);
    ok(&scan);
    let report: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    let suffixes: Vec<&str> = report["suffixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["suffix"].as_str().unwrap())
        .collect();
    assert!(suffixes.contains(&"3607746445660035257"), "{suffixes:?}");

    std::fs::write(
        d.join("m.json"),
        r#"{"version":1,"suffixes":{"3607746445660035257":"util_c","1111":"util_c","10920079240064154335":"asm_c","13056421603100244340":"scale_c"}}"#,
    )
    .unwrap();
    let out = d.join("out.bc");
    let map = d.join("map.json");
    let run = bcrename_in(
        d,
        &[
            "rename",
            "--verbose",
            "--manifest",
            "m.json",
            "--keep-unresolved",
            "--map-out",
            map.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
    );
    ok(&run);
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(
        said.contains("planned from every name of the set: a function-local name"),
        "{said}"
    );
    let map = std::fs::read_to_string(&map).unwrap();
    assert!(
        map.contains(r#""old": "mix.llvm.3607746445660035257.exit""#)
            && map.contains(r#""new": "mix.llvm.util_c.exit""#),
        "{map}"
    );
    if let Some(tool) = llvm_tool("llvm-dis") {
        let text = dis(&tool, &out);
        assert!(text.contains("mix.llvm.util_c.exit:"), "label not renamed");
        assert!(!text.contains("3607746445660035257"));
    }

    // With a policy and no owner for it, the suffix is reported.
    let out = bcrename_in(
        d,
        &[
            "rename",
            "--policy",
            "source-filename",
            "--dry-run",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(".llvm.3607746445660035257: no owner (mentioned by"),
        "{err}"
    );
}

/// Runs `rename` through the library, planned from summaries (the
/// default) or the exact way, into `out`.
fn rename_lib(
    inputs: &[PathBuf],
    plan: &bcrename::plan::PlanOptions,
    out: &Path,
    exact: bool,
) -> Result<bcrename::rename::RenameOutcome, String> {
    use bcrename::rename::{run, EngineKind, Output, RenameOptions};
    let options = RenameOptions {
        plan: plan.clone(),
        prelink: Vec::new(),
        index: Vec::new(),
        output: Output::OutDir(out.to_path_buf()),
        map_out: None,
        plan_out: None,
        jobs: 2,
        engine: EngineKind::Native,
        progress: false,
        record_changes: true,
        exact_plan: exact,
    };
    let inputs: Vec<String> = inputs
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    run(&inputs, &options, &mut std::io::sink()).map_err(|e| e.to_string())
}

/// A plan made from module summaries (the default: no module is held while
/// the set is planned) and the exact plan agree on every module set of the
/// test data, with a policy and with exact renames: the same plan, the same
/// renames, the same bytes, the same errors. Where the summaries cannot
/// decide, the run says it planned the exact way.
#[test]
fn plans_from_summaries_and_exact_plans_agree() {
    use bcrename::plan::policy::SuffixPolicy;
    use bcrename::plan::PlanOptions;
    let tmp = tempfile::tempdir().unwrap();
    let policy = PlanOptions {
        policy: Some(SuffixPolicy::SourceFilename),
        keep_unresolved: true,
        ..Default::default()
    };
    let mut cases: Vec<(String, Vec<PathBuf>, PlanOptions)> = module_sets()
        .into_iter()
        .map(|(_, name, files)| (name, files, policy.clone()))
        .collect();
    // Exact renames: into a fresh name, onto a name that stays (an error),
    // and of a name module asm uses (an error).
    let prelink = files_under(&testdata().join("clang-19/prog/prelink"));
    for (old, new) in [
        ("util_compute", "util_compute_v2"),
        ("util_compute", "util_counter_value"),
        ("asm_target", "asm_target2"),
    ] {
        let redefines = [(old.as_bytes().to_vec(), new.as_bytes().to_vec())].into();
        let plan = PlanOptions {
            redefines,
            ..policy.clone()
        };
        cases.push((format!("prelink {old}={new}"), prelink.clone(), plan));
    }
    let mut from_summaries = 0;
    for (i, (name, files, plan)) in cases.iter().enumerate() {
        let input = tmp.path().join(format!("in{i}"));
        copy_set(&common_base(files), files, &input);
        let (a, b) = (
            tmp.path().join(format!("s{i}")),
            tmp.path().join(format!("e{i}")),
        );
        let summaries = rename_lib(std::slice::from_ref(&input), plan, &a, false);
        let exact = rename_lib(&[input], plan, &b, true);
        match (summaries, exact) {
            (Ok(s), Ok(e)) => {
                assert_eq!(s.plan, e.plan, "{name}: plans differ");
                assert_eq!(e.planned_exactly, Some("asked for"));
                from_summaries += usize::from(s.planned_exactly.is_none());
                assert_eq!(s.files.len(), e.files.len());
                for (fs, fe) in s.files.iter().zip(&e.files) {
                    assert_eq!(fs.changes, fe.changes, "{name}: {}", fs.input.display);
                    assert_eq!(fs.renamed, fs.changes.len());
                    let (os, oe) = (fs.output.as_ref().unwrap(), fe.output.as_ref().unwrap());
                    assert!(
                        std::fs::read(os).unwrap() == std::fs::read(oe).unwrap(),
                        "{name}: {} differs",
                        fs.input.display
                    );
                }
            }
            (Err(s), Err(e)) => assert_eq!(s, e, "{name}"),
            (s, e) => panic!("{name}: from summaries {:?}, exact {:?}", s.err(), e.err()),
        }
    }
    // Every set but those whose checks fail is planned from summaries.
    assert!(
        from_summaries >= cases.len() - 2,
        "{from_summaries} of {}",
        cases.len()
    );
    let run = bcrename_in(
        tmp.path(),
        &[
            "rename",
            "--verbose",
            "--policy",
            "source-filename",
            "--check",
            "in0",
        ],
    );
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(
        said.contains("bcrename: planned from module summaries"),
        "{said}"
    );
}

/// Names of the entries of `dir` that bcrename's staging left behind.
fn staging_left_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".bcrename-"))
        .collect()
}

/// When the plan from summaries cannot decide, what it staged is undone
/// and the run is made again the exact way: into a new --out-dir (staged
/// as a whole directory) and in place, with nothing left behind and the
/// same bytes either way.
#[test]
fn a_run_made_again_the_exact_way_stages_afresh() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let input = module_with_a_local_only_suffix(d);
    std::fs::write(
        d.join("m.json"),
        r#"{"version":1,"suffixes":{"3607746445660035257":"util_c","1111":"util_c"}}"#,
    )
    .unwrap();
    let plan = ["--manifest", "m.json", "--keep-unresolved", "--verbose"];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = ["rename"]
            .iter()
            .chain(&plan)
            .chain(extra)
            .copied()
            .collect();
        let out = bcrename_in(d, &args);
        ok(&out);
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            said.contains("planned from every name of the set"),
            "{said}"
        );
    };
    run(&["--out-dir", "out", "main.bc"]);
    let renamed = std::fs::read(d.join("out/main.bc")).unwrap();
    assert_ne!(renamed, std::fs::read(&input).unwrap());
    assert!(staging_left_in(d).is_empty(), "{:?}", staging_left_in(d));

    std::fs::create_dir(d.join("in")).unwrap();
    std::fs::copy(&input, d.join("in/main.bc")).unwrap();
    run(&["--in-place", "in/main.bc"]);
    assert_eq!(std::fs::read(d.join("in/main.bc")).unwrap(), renamed);
    assert!(staging_left_in(&d.join("in")).is_empty());
}

/// `--check` keeps only the number of renames (not the renames), and says
/// the same number, in the same number of files, as `--dry-run` lists.
#[test]
fn check_counts_what_dry_run_lists() {
    let inproc = testdata().join("clang-19/prog/inprocess");
    let files: Vec<String> = files_under(&inproc)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".5.precodegen.bc"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let run = |mode: &str| {
        let mut args = vec!["rename", "--policy", "source-filename", mode];
        args.extend(files.iter().map(String::as_str));
        bcrename(&args)
    };
    let dry = run("--dry-run");
    ok(&dry);
    let listed = String::from_utf8_lossy(&dry.stdout);
    let last = listed.lines().last().unwrap();
    // "N name(s) to rename in M of K file(s)"
    let words: Vec<&str> = last.split_whitespace().collect();
    let (n, m) = (words[0], words[5]);
    let renames = listed
        .lines()
        .filter(|l| l.contains(" -> ") && !l.starts_with("suffix ") && !l.starts_with("symbol "))
        .count();
    assert_eq!(renames.to_string(), n, "{listed}");
    let check = run("--check");
    assert_eq!(check.status.code(), Some(1));
    let said = String::from_utf8_lossy(&check.stderr);
    assert!(
        said.contains(&format!(
            "bcrename: {n} name(s) in {m} file(s) would change"
        )),
        "{said} vs {last}"
    );
}

/// A plan is made from each file's symbol table where it can be; a file
/// whose table does not list what its module holds (here the owner of a
/// promoted function marked as not defining it) sends the run back to
/// plan the exact way, and the outputs are those of the exact plan.
#[test]
fn a_symbol_table_at_odds_with_its_module_sends_the_run_back_to_plan_exactly() {
    use bcrename::bitcode::symtab_names::FLAG_UNDEFINED;
    use bcrename::plan::policy::SuffixPolicy;
    use bcrename::plan::PlanOptions;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let base = testdata().join("clang-19/prog/distributed");
    copy_backends(&base, &d.join("in"));
    let util = d.join("in/util.bc");
    let mut data = std::fs::read(&util).unwrap();
    let name = flip_symtab_flag(&mut data, FLAG_UNDEFINED, |f| f & FLAG_UNDEFINED == 0);
    std::fs::write(&util, &data).unwrap();

    let args = ["rename", "--verbose", "--policy", "source-filename"];
    let run = |out: &str| {
        let mut a = args.to_vec();
        a.extend(["--out-dir", out, "in"]);
        let r = bcrename_in(d, &a);
        ok(&r);
        String::from_utf8_lossy(&r.stderr).into_owned()
    };
    let said = run("out");
    assert!(
        said.contains("planned from every name of the set: a symbol table does not list what its module holds"),
        "{name}: {said}"
    );
    let plan = PlanOptions {
        policy: Some(SuffixPolicy::SourceFilename),
        ..Default::default()
    };
    let exact = rename_lib(&[d.join("in")], &plan, &d.join("exact"), true).unwrap();
    assert!(exact.files.iter().any(|f| f.renamed > 0));
    assert_eq!(dir_bytes(&d.join("out")), dir_bytes(&d.join("exact")));

    // The files as LLVM wrote them are planned from their tables.
    std::fs::write(&util, std::fs::read(base.join("util.bc")).unwrap()).unwrap();
    let said = run("out2");
    assert!(
        said.contains("bcrename: planned from module summaries"),
        "{said}"
    );
    let (mut a, mut b) = (dir_bytes(&d.join("out2")), dir_bytes(&d.join("exact")));
    let util_out = (
        a.remove(Path::new("util.bc")),
        b.remove(Path::new("util.bc")),
    );
    assert_eq!(a, b);
    // The flipped flag is the one difference.
    let (x, y) = (util_out.0.unwrap(), util_out.1.unwrap());
    assert_eq!(x.len(), y.len());
    assert_eq!(x.iter().zip(&y).filter(|(p, q)| p != q).count(), 1);
}

/// Every output takes its input's permissions, whatever the umask: those
/// the umask would change are set after the file is made, the others are
/// given when it is made; in place, a replaced file keeps its mode.
#[cfg(unix)]
#[test]
fn outputs_take_their_inputs_permissions_under_any_umask() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let files = copy_backends(&testdata().join("clang-19/prog/distributed"), &d.join("in"));
    assert!(files.len() >= 3, "{files:?}");
    let modes = [0o644, 0o640, 0o755, 0o600, 0o664];
    let mut wanted = BTreeMap::new();
    for (i, rel) in files.iter().enumerate() {
        let mode = modes[i % modes.len()];
        let f = d.join("in").join(rel);
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(mode)).unwrap();
        wanted.insert(rel.clone(), mode);
    }
    let mode_of = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    for umask in ["022", "077", "000"] {
        let out = d.join(format!("out{umask}"));
        let script = format!(
            "umask {umask}; exec \"$0\" rename --policy source-filename --out-dir {} {}",
            out.display(),
            d.join("in").display()
        );
        let st = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .arg(env!("CARGO_BIN_EXE_bcrename"))
            .output()
            .unwrap();
        ok(&st);
        for (rel, &mode) in &wanted {
            assert_eq!(mode_of(&out.join(rel)), mode, "umask {umask}: {rel:?}");
        }
    }
    let script = "umask 077; exec \"$0\" rename --policy source-filename --in-place \"$1\"";
    let st = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_bcrename"))
        .arg(d.join("in"))
        .output()
        .unwrap();
    ok(&st);
    for (rel, &mode) in &wanted {
        assert_eq!(mode_of(&d.join("in").join(rel)), mode, "in place: {rel:?}");
    }
    assert_no_temporaries(d);
}

/// More inputs than the process may keep open: the files past half its
/// limit on open files are read again by path, not kept open, and the
/// outputs are those of a run without the limit. (Kept open regardless,
/// the run would fail for want of file descriptors.)
#[cfg(unix)]
#[test]
fn more_inputs_than_files_the_process_may_keep_open() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let set = testdata().join("clang-19/prog/distributed");
    let modules = ["main.bc", "util.bc", "alias.bc", "asm.bc"];
    for i in 0..40 {
        let to = d.join("in").join(format!("d{i}"));
        std::fs::create_dir_all(&to).unwrap();
        for m in modules {
            std::fs::copy(set.join(m), to.join(m)).unwrap();
        }
    }
    // 160 inputs, and room for 30 open files: 15 kept open.
    let run = |out: &str, limit: &str| {
        let script = format!(
            "{limit} exec \"$0\" rename --redefine-sym util_compute=renamed_compute --out-dir {out} in"
        );
        let out = Command::new("sh")
            .args(["-c", &script, env!("CARGO_BIN_EXE_bcrename")])
            .current_dir(d)
            .output()
            .unwrap();
        ok(&out);
    };
    run("free", "");
    run("limited", "ulimit -n 30 &&");
    let inputs = files_under(&d.join("in"));
    assert_eq!(inputs.len(), 160);
    let mut renamed = 0;
    for f in &inputs {
        let rel = f.strip_prefix(d.join("in")).unwrap();
        let free = std::fs::read(d.join("free").join(rel)).unwrap();
        let limited = std::fs::read(d.join("limited").join(rel)).unwrap();
        assert!(free == limited, "{}", rel.display());
        renamed += usize::from(free != std::fs::read(f).unwrap());
    }
    // Each copy of util.bc defines the symbol and main.bc calls it.
    assert!(renamed >= 80, "{renamed} renamed");
}

/// Backends whose function bodies are most of them are planned from their
/// symbol tables, each read without its module block's body (as the first
/// KiB of the file shows it; the outcome says how many bytes the first pass
/// read): the same plan, renames and bytes as the exact plan, which reads
/// every file whole. (Built with clang-19 and lld-19: distributed ThinLTO
/// of a generated program, to bitcode.)
#[test]
fn large_modules_are_planned_from_their_tables_alone() {
    use bcrename::bitcode::symtab_names::not_looked_at;
    use bcrename::input::{HEAD_READ, LEAVE_OUT_MIN};
    use bcrename::plan::policy::SuffixPolicy;
    let (Some(clang), Some(python)) = (llvm_tool("clang"), python3()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("build");
    std::fs::create_dir_all(dir.join("bc")).unwrap();
    let n = 4;
    generated_program(&python, &dir, n, 100);
    let run = |cmd: &mut Command| ok(&cmd.current_dir(&dir).output().unwrap());
    let mut objs = Vec::new();
    let (mut bytes, mut left_out_bytes) = (0u64, 0u64);
    for i in 0..n {
        let c = format!("m{i}.c");
        let o = format!("m{i}.o");
        run(Command::new(&clang).args(["-O2", "-fPIC", "-flto=thin", "-c", &c, "-o", &o]));
        objs.push(o);
    }
    run(Command::new(&clang)
        .args([
            "-shared",
            "-flto=thin",
            "-fuse-ld=lld",
            "-Wl,--thinlto-index-only",
        ])
        .args(&objs)
        .args(["-o", "lib.so"]));
    for o in &objs {
        let index = format!("-fthinlto-index={o}.thinlto.bc");
        let bc = format!("bc/{o}.bc");
        run(Command::new(&clang).args([
            "-O2",
            "-fPIC",
            "-x",
            "ir",
            o,
            &index,
            "-emit-llvm",
            "-c",
            "-o",
            &bc,
        ]));
        let data = std::fs::read(dir.join(&bc)).unwrap();
        let left_out = not_looked_at(&data[..HEAD_READ], data.len()).unwrap();
        assert!(
            left_out.len() >= LEAVE_OUT_MIN + HEAD_READ,
            "{bc}: {left_out:?}"
        );
        // (The first KiB is read whatever it holds.)
        bytes += data.len() as u64;
        left_out_bytes += (left_out.end - left_out.start.max(HEAD_READ)) as u64;
    }
    let plan = bcrename::plan::PlanOptions {
        policy: Some(SuffixPolicy::SourceFilename),
        ..Default::default()
    };
    let inputs = [dir.join("bc")];
    let s = rename_lib(&inputs, &plan, &tmp.path().join("s"), false).unwrap();
    let e = rename_lib(&inputs, &plan, &tmp.path().join("e"), true).unwrap();
    assert_eq!(s.planned_exactly, None);
    // Each file's first read left out the part the first KiB showed,
    // past that KiB.
    let read = bcrename::rename::FirstPass {
        files: n,
        from_symbol_tables: n,
        bytes_read: bytes - left_out_bytes,
        bytes,
    };
    assert_eq!(s.first_pass, Some(read));
    assert_eq!(e.first_pass, None);
    assert_eq!(s.plan, e.plan);
    assert_eq!(s.files.len(), n);
    for (fs, fe) in s.files.iter().zip(&e.files) {
        assert!(!fs.changes.is_empty(), "{}", fs.input.display);
        assert_eq!(fs.changes, fe.changes, "{}", fs.input.display);
        let (os, oe) = (fs.output.as_ref().unwrap(), fe.output.as_ref().unwrap());
        assert!(std::fs::read(os).unwrap() == std::fs::read(oe).unwrap());
    }
}
