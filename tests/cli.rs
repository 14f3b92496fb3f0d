//! The `bcrename` binary: scan output (golden files), determinism, inputs,
//! and the commands not available yet.

mod common;

use std::process::{Command, Stdio};

use common::*;

fn run_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bcrename"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn precodegen_list(version: u32) -> Vec<String> {
    let base = testdata();
    let mut v: Vec<String> = files_under(&base.join(format!("clang-{version}/prog/inprocess")))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".5.precodegen.bc"))
        .map(|p| {
            p.strip_prefix(&base)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    v.sort();
    v
}

#[test]
fn scan_output_matches_golden_files() {
    for v in VERSIONS {
        let files = precodegen_list(v);
        let mut args = vec!["scan", "--json"];
        args.extend(files.iter().map(String::as_str));
        let out = run_in(&testdata(), &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        golden(
            &format!("scan-clang{v}-prog-precodegen.json"),
            &String::from_utf8(out.stdout).unwrap(),
        );
    }
    let mut args = vec!["scan"];
    let files = precodegen_list(19);
    args.extend(files.iter().map(String::as_str));
    let out = run_in(&testdata(), &args);
    golden(
        "scan-clang19-prog-precodegen.txt",
        &String::from_utf8(out.stdout).unwrap(),
    );
}

/// On a terminal, `rename` shows on standard error how many files it has
/// done, ending with the count of all; with standard error a pipe (as in
/// most build scripts) it shows nothing of it. (The terminal is a
/// pseudo-terminal that util-linux's `script` runs the command on.)
#[test]
fn rename_shows_its_progress_on_a_terminal_only() {
    let Some(script) = command("script", "bsdutils") else {
        return;
    };
    let files = precodegen_list(19);
    let n = files.len();
    assert!(n > 1, "{files:?}");
    let mut args = vec!["rename", "--policy", "source-filename", "--dry-run"];
    args.extend(files.iter().map(String::as_str));
    let piped = run_in(&testdata(), &args);
    ok(&piped);
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(!stderr.contains("files"), "{stderr:?}");

    let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
    let line = std::iter::once(env!("CARGO_BIN_EXE_bcrename"))
        .chain(args.iter().copied())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    let on_terminal = Command::new(script)
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .current_dir(testdata())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    ok(&on_terminal);
    let shown = String::from_utf8_lossy(&on_terminal.stdout);
    assert!(
        shown.contains(&format!("\rbcrename: {n}/{n} files\r\n")),
        "{shown:?}"
    );
}

#[test]
fn scan_json_is_byte_stable_across_input_order_and_response_files() {
    let files = precodegen_list(19);
    let mut args = vec!["scan", "--json"];
    args.extend(files.iter().map(String::as_str));
    let forward = run_in(&testdata(), &args).stdout;
    let mut reversed_args = vec!["scan", "--json"];
    reversed_args.extend(files.iter().rev().map(String::as_str));
    assert_eq!(forward, run_in(&testdata(), &reversed_args).stdout);

    let dir = tempfile::tempdir().unwrap();
    let rsp = dir.path().join("inputs.rsp");
    let quoted: Vec<String> = files.iter().map(|f| format!("'{f}'")).collect();
    std::fs::write(&rsp, quoted.join("\n")).unwrap();
    let via_rsp = run_in(
        &testdata(),
        &["scan", "--json", &format!("@{}", rsp.display())],
    )
    .stdout;
    assert_eq!(forward, via_rsp);
}

#[test]
fn directories_are_searched_by_magic() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("x/y");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::copy(
        testdata().join("clang-19/prog/distributed/util.bc"),
        sub.join("util.bc"),
    )
    .unwrap();
    std::fs::copy(
        testdata().join("clang-19/darwin/helper.o"),
        dir.path().join("wrapped.o"),
    )
    .unwrap();
    std::fs::write(dir.path().join("README"), "not bitcode").unwrap();
    std::fs::write(sub.join("empty"), "").unwrap();
    let out = run_in(dir.path(), &["scan", "--json", "."]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let paths: Vec<_> = json["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths, ["./wrapped.o", "./x/y/util.bc"]);
    let text = run_in(dir.path(), &["scan", "."]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("2 non-bitcode files skipped"));
}

/// `rename` over directories writes only the bitcode found in them: other
/// files are skipped (told apart as they are read), count in the message
/// when nothing is bitcode, and take no output path, so none collides.
#[test]
fn rename_of_a_directory_writes_only_its_bitcode() {
    let dir = tempfile::tempdir().unwrap();
    let rename = |out: &str, inputs: &[&str]| {
        let mut args = vec!["rename", "--policy", "source-filename", "--keep-unresolved"];
        args.extend(["--verbose", "--out-dir", out]);
        args.extend(inputs);
        let out = run_in(dir.path(), &args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let util = testdata().join("clang-19/prog/distributed/util.bc");
    let main = testdata().join("clang-19/prog/distributed/main.bc");
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::copy(&main, tree.join("sub/main.bc")).unwrap();
    std::fs::write(tree.join("README"), "not bitcode").unwrap();
    // Named as the file argument below is: it would collide, were it kept.
    std::fs::write(tree.join("util.bc"), "not bitcode either").unwrap();
    std::fs::copy(&util, dir.path().join("util.bc")).unwrap();
    let (code, err) = rename("o", &["util.bc", "tree"]);
    assert_eq!(code, Some(0), "{err}");
    // (The fast way tells the files apart itself: the exact way, sent
    // back to, would hide it.) Files this small are read whole; the
    // non-bitcode ones are not counted.
    let bytes = std::fs::metadata(&util).unwrap().len() + std::fs::metadata(&main).unwrap().len();
    let summaries = format!(
        "bcrename: planned from module summaries: 2 file(s), 2 from their symbol tables; read {bytes} of {bytes} bytes (100%)\n"
    );
    assert!(err.contains(&summaries), "{err}");
    let mut written = files_under(&dir.path().join("o"));
    written.sort();
    let o = dir.path().join("o");
    assert_eq!(written, [o.join("sub/main.bc"), o.join("util.bc")]);
    // A bitcode file under the directory at the same place does collide.
    std::fs::copy(&main, tree.join("util.bc")).unwrap();
    let (code, err) = rename("o2", &["util.bc", "tree"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("would both be written to"), "{err}");
    assert!(!dir.path().join("o2").exists());
    // Nothing but other files: a usage error that counts them.
    let none = dir.path().join("none");
    std::fs::create_dir_all(&none).unwrap();
    std::fs::write(none.join("a.txt"), "text").unwrap();
    std::fs::write(none.join("empty"), "").unwrap();
    let (code, err) = rename("o3", &["none"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("no bitcode files among the inputs (2 other files skipped)"),
        "{err}"
    );
}

#[test]
fn standard_input_is_read_for_dash() {
    let data = std::fs::read(testdata().join("clang-19/prog/distributed/util.bc")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bcrename"))
        .args(["scan", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["modules"][0]["path"], "-");
    assert_eq!(json["modules"][0]["source_filename"], "util.c");
}

#[test]
fn json_has_the_spec_fields() {
    let f = testdata().join("clang-19/cfi/prelink/main.o");
    let out = bcrename(&["scan", "--json", "--all", f.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    // Fields in the spec's order.
    let order = |keys: &[&str]| {
        let at: Vec<_> = keys
            .iter()
            .map(|k| text.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{keys:?} out of order");
    };
    order(&[
        "version",
        "modules",
        "path",
        "producer",
        "source_filename",
        "hash",
        "symbols",
        "name",
        "kind",
        "defined",
        "linkage",
        "suffix",
        "local_names",
        "suffixes",
        "problems",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["version"], 1);
    let modules = json["modules"].as_array().unwrap();
    // A split LTO unit: two modules in one file.
    assert_eq!(modules.len(), 2);
    let keys: Vec<_> = modules[0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "hash",
            "local_names",
            "path",
            "producer",
            "source_filename",
            "symbols"
        ]
    );
    assert_eq!(modules[0]["producer"], "LLVM19.1.7");
    assert_eq!(modules[0]["hash"].as_str().unwrap().len(), 40);
    assert!(modules[1]["hash"].is_null());
    let sym = &modules[0]["symbols"][0];
    let keys: Vec<_> = sym.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["defined", "kind", "linkage", "name", "suffix"]);
    let names: Vec<_> = modules[0]["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(json["suffixes"].as_array().unwrap().is_empty());
}

#[test]
fn index_files_among_inputs_are_reported() {
    let f = testdata().join("clang-19/prog/distributed/main.o.thinlto.bc");
    let out = bcrename(&["scan", "--json", f.to_str().unwrap()]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["problems"][0]["kind"], "index_input");
    let out = bcrename(&[
        "scan",
        "--index",
        testdata()
            .join("clang-19/prog/prelink/main.o")
            .to_str()
            .unwrap(),
        f.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a ThinLTO index"));
}

#[test]
fn module_asm_naming_a_promoted_symbol_is_a_problem() {
    for v in VERSIONS {
        let f = testdata().join(format!("clang-{v}/asmref/asmref.bc"));
        let out = bcrename(&["scan", "--json", f.to_str().unwrap()]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let p = &json["problems"][0];
        assert_eq!(p["kind"], "asm_reference", "{json}");
        assert_eq!(p["suffix"], "1234567890123");
        assert!(
            p["message"]
                .as_str()
                .unwrap()
                .contains("module asm, line 2"),
            "{p}"
        );
    }
    // The test programs' asm names only plain globals.
    let f = testdata().join("clang-19/prog/distributed/asm.bc");
    let out = bcrename(&["scan", "--json", f.to_str().unwrap()]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["problems"].as_array().unwrap().is_empty(), "{json}");
}

/// `verify` and `--engine llvm` need the `llvm` feature: without it they
/// exit 2 and say so; with it, a file verifies against itself.
#[test]
fn llvm_commands_depend_on_the_feature() {
    let f = testdata().join("clang-19/prog/distributed/util.bc");
    let f = f.to_str().unwrap();
    let engine = [
        "rename",
        "--engine",
        "llvm",
        "--redefine-sym",
        "util_compute=x",
        "--dry-run",
        f,
    ];
    if cfg!(feature = "llvm") {
        let out = bcrename(&["verify", f, f]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(bcrename(&engine).status.success());
        return;
    }
    for args in [vec!["verify", f, f], engine.to_vec()] {
        let out = bcrename(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("built without the `llvm` feature"),
            "{args:?}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(bcrename(&["scan"]).status.code(), Some(2));
    assert_eq!(
        bcrename(&["scan", "/nonexistent/x.bc"]).status.code(),
        Some(2)
    );
    assert_eq!(bcrename(&["frobnicate"]).status.code(), Some(2));
    let out = bcrename(&["scan", "@/nonexistent.rsp"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.rsp"));
}

#[test]
fn dump_prints_every_block() {
    let f = testdata().join("clang-19/darwin/helper.o");
    let out = bcrename(&["dump", f.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("WRAPPER version=0 offset=20"),
        "{}",
        &text[..80]
    );
    assert!(text.contains("BLOCK 23 ") && text.contains("BLOCK 25 "));
}

/// A destination that is not a regular file is written through, never
/// replaced: `-o /dev/null` must leave /dev/null a device.
#[test]
fn writing_to_a_device_or_pipe_does_not_replace_it() {
    use std::os::unix::fs::FileTypeExt;
    let f = testdata().join("clang-19/prog/distributed/util.bc");
    let out = bcrename(&[
        "rename",
        "--policy",
        "source-filename",
        "--keep-unresolved",
        "-o",
        "/dev/null",
        f.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    // A symbolic link is followed: the target is rewritten, the link kept.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&f, dir.path().join("target.bc")).unwrap();
    std::os::unix::fs::symlink("target.bc", dir.path().join("link.bc")).unwrap();
    let out = bcrename_in(
        dir.path(),
        &[
            "rename",
            "--redefine-sym",
            "util_compute=uc",
            "--in-place",
            "link.bc",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::symlink_metadata(dir.path().join("link.bc"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_ne!(
        std::fs::read(dir.path().join("target.bc")).unwrap(),
        std::fs::read(&f).unwrap()
    );
}

/// Bitcode is never written to a terminal: `-o -` on a pseudo-terminal
/// (made by util-linux `script`) is refused.
#[test]
fn bitcode_is_never_written_to_a_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "script (util-linux) is needed for this test"
        );
        return;
    }
    let f = testdata().join("clang-19/prog/distributed/util.bc");
    let cmd = format!(
        "{} rename --redefine-sym util_compute=x -o - {}",
        env!("CARGO_BIN_EXE_bcrename"),
        f.display()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("refusing to write bitcode to a terminal"),
        "{text}"
    );
    assert!(!text.contains("BC"), "bitcode reached the terminal");
}
