//! Reproducible builds end to end, `diff`, and distributed ThinLTO with one
//! bcrename per backend (issue 5). These build the test program with
//! clang-19 and lld-19.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn run(dir: &Path, cmd: &mut Command) {
    let out = cmd.current_dir(dir).output().unwrap();
    ok(&out);
}

const SOURCES: [&str; 6] = [
    "main.c",
    "util.c",
    "a/helper.c",
    "b/helper.c",
    "alias.c",
    "asm.c",
];

/// Builds the test program in `dir` with absolute source paths and
/// -ffile-prefix-map, through distributed ThinLTO, up to the backends'
/// bitcode (`obj/*.bc`).
fn build_backends(clang: &Path, dir: &Path) -> Vec<PathBuf> {
    let src = testdata().join("src/prog");
    let mut objs = Vec::new();
    for s in SOURCES {
        let from = src.join(s);
        let to = dir.join("src").join(s);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
    for s in SOURCES {
        let obj = PathBuf::from("obj").join(s.replace(".c", ".o"));
        std::fs::create_dir_all(dir.join(obj.parent().unwrap())).unwrap();
        let map = format!("-ffile-prefix-map={}=.", dir.display());
        run(
            dir,
            Command::new(clang)
                .args(["-O2", "-g", "-flto=thin", &map, "-c"])
                .arg(dir.join("src").join(s))
                .arg("-o")
                .arg(&obj),
        );
        objs.push(obj);
    }
    run(
        dir,
        Command::new(clang)
            .args(["-flto=thin", "-fuse-ld=lld", "-Wl,--thinlto-index-only"])
            .args(&objs)
            .args(["-o", "prog"]),
    );
    let mut bcs = Vec::new();
    for o in &objs {
        let bc = o.with_extension("bc");
        let index = format!("-fthinlto-index={}.thinlto.bc", o.display());
        run(
            dir,
            Command::new(clang)
                .args(["-O2", "-x", "ir"])
                .arg(o)
                .arg(&index)
                .args(["-emit-llvm", "-c", "-o"])
                .arg(&bc),
        );
        bcs.push(bc);
    }
    bcs
}

/// Code generation and link of `dir`'s backends; returns the program path.
fn link(clang: &Path, dir: &Path, bcs: &[PathBuf]) -> PathBuf {
    let mut natives = Vec::new();
    for bc in bcs {
        let o = bc.with_extension("native.o");
        run(
            dir,
            Command::new(clang)
                .args(["-c", "-O2", "-Xclang", "-disable-llvm-passes"])
                .arg(bc)
                .arg("-o")
                .arg(&o),
        );
        natives.push(o);
    }
    run(
        dir,
        Command::new(clang)
            .arg("-fuse-ld=lld")
            .args(&natives)
            .args(["-o", "prog.final"]),
    );
    dir.join("prog.final")
}

fn copy_backends(dir: &Path, bcs: &[PathBuf], to: &Path) {
    for bc in bcs {
        let dest = to.join(bc);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(dir.join(bc), dest).unwrap();
    }
}

#[test]
fn two_build_directories_give_identical_binaries_after_rename() {
    let Some(clang) = llvm_tool("clang") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (
        tmp.path().join("build-a"),
        tmp.path().join("elsewhere/second-build"),
    );
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let bcs = build_backends(&clang, &a);
    assert_eq!(build_backends(&clang, &b), bcs);
    // Snapshots of the backends before renaming, for `diff`.
    copy_backends(&a, &bcs, &tmp.path().join("left"));
    copy_backends(&b, &bcs, &tmp.path().join("right"));

    // Before: every backend differs, and so do the programs.
    for bc in &bcs {
        assert_ne!(
            std::fs::read(a.join(bc)).unwrap(),
            std::fs::read(b.join(bc)).unwrap(),
            "{}",
            bc.display()
        );
    }
    let (pa, pb) = (link(&clang, &a, &bcs), link(&clang, &b, &bcs));
    assert_ne!(
        std::fs::read(&pa).unwrap(),
        std::fs::read(&pb).unwrap(),
        "programs from two directories should differ"
    );
    let raw = bcrename_in(tmp.path(), &["diff", "left", "right"]);
    assert_eq!(
        raw.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&raw.stdout)
    );

    // diff with one policy for both sides (each side matches its own map).
    let (ma, mb) = (format!("{}=.", a.display()), format!("{}=.", b.display()));
    let args = [
        "diff",
        "--policy",
        "prefix-map",
        "--prefix-map",
        &ma,
        "--prefix-map",
        &mb,
        "--remap-source-filename",
        "--json",
        "left",
        "right",
    ];
    let d = bcrename_in(tmp.path(), &args);
    assert_eq!(
        d.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&d.stdout)
    );
    let report: serde_json::Value = serde_json::from_slice(&d.stdout).unwrap();
    assert_eq!(report["pairs"].as_array().unwrap().len(), 6);
    assert!(
        report["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "equivalent"),
        "{report}"
    );
    assert!(report["pairs"][0]["differs"]
        .as_array()
        .unwrap()
        .contains(&"source file".into()));
    // Without remapping the source file name, they stay different.
    let d = bcrename_in(
        tmp.path(),
        &[
            "diff",
            "--policy",
            "prefix-map",
            "--prefix-map",
            &ma,
            "--prefix-map",
            &mb,
            "left",
            "right",
        ],
    );
    assert_eq!(d.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&d.stdout).contains("first difference: MODULE_BLOCK"));

    // Rename each build with its own prefix map.
    for (dir, map) in [(&a, &ma), (&b, &mb)] {
        let mut args = vec![
            "rename",
            "--policy",
            "prefix-map",
            "--prefix-map",
            map,
            "--remap-source-filename",
            "--in-place",
        ];
        let names: Vec<String> = bcs
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        args.extend(names.iter().map(String::as_str));
        ok(&bcrename_in(dir, &args));
    }
    for bc in &bcs {
        assert_eq!(
            std::fs::read(a.join(bc)).unwrap(),
            std::fs::read(b.join(bc)).unwrap(),
            "{} still differs",
            bc.display()
        );
    }
    let (pa, pb) = (link(&clang, &a, &bcs), link(&clang, &b, &bcs));
    assert_eq!(
        std::fs::read(&pa).unwrap(),
        std::fs::read(&pb).unwrap(),
        "programs differ after renaming"
    );
    let out = Command::new(&pa).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(testdata().join("clang-19/prog/expected.txt")).unwrap()
    );
    // And the renamed backends are identical to diff.
    copy_backends(&a, &bcs, &tmp.path().join("left-renamed"));
    copy_backends(&b, &bcs, &tmp.path().join("right-renamed"));
    let same = bcrename_in(tmp.path(), &["diff", "left-renamed", "right-renamed"]);
    ok(&same);
    assert!(String::from_utf8_lossy(&same.stdout)
        .contains("6 identical, 0 equivalent, 0 different, 0 unpaired"));
}

#[test]
fn diff_pairs_files_and_reports_unpaired_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dist = testdata().join("clang-19/prog/distributed");
    for side in ["l", "r"] {
        std::fs::create_dir_all(d.join(side)).unwrap();
        std::fs::copy(dist.join("util.bc"), d.join(side).join("util.bc")).unwrap();
    }
    std::fs::copy(dist.join("main.bc"), d.join("l/main.bc")).unwrap();
    let out = bcrename_in(d, &["diff", "--json", "l", "r"]);
    assert_eq!(out.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["version"], 1);
    assert_eq!(j["pairs"][0]["status"], "identical");
    assert_eq!(j["unpaired"][0]["path"], "main.bc");
    assert_eq!(j["unpaired"][0]["side"], "left");
    // Two files are paired whatever their names.
    let out = bcrename_in(d, &["diff", "l/util.bc", "r/util.bc"]);
    ok(&out);
    let out = bcrename_in(d, &["diff", "l/util.bc", "l/main.bc"]);
    assert_eq!(out.status.code(), Some(1));
    // A file and a directory cannot be compared.
    let out = bcrename_in(d, &["diff", "l/util.bc", "r"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The Makefile in examples/distributed renames each backend on its own
/// (make -j4); its outputs equal a rename of the whole set, and the
/// program runs.
#[test]
fn distributed_example_renames_per_backend_like_the_whole_set() {
    let Some(_) = llvm_tool("clang") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("build");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/distributed");
    let src = testdata().join("src/prog");
    let st = Command::new("make")
        .arg("-C")
        .arg(&example)
        .arg("-j4")
        .arg(format!("OUT={}", out.display()))
        .arg(format!("SRC={}", src.display()))
        .arg(format!("BCRENAME={}", env!("CARGO_BIN_EXE_bcrename")))
        .output()
        .unwrap();
    ok(&st);
    let run = Command::new(out.join("prog")).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        std::fs::read_to_string(testdata().join("clang-19/prog/expected.txt")).unwrap()
    );
    // The whole set at once, with the same policy: a directory holding just
    // the backends, so their relative paths are kept under --out-dir.
    let backends: Vec<String> = SOURCES.iter().map(|s| s.replace(".c", ".bc")).collect();
    let set = tmp.path().join("set");
    for b in &backends {
        let dest = set.join(b);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(out.join(b), dest).unwrap();
    }
    let map = format!("{}/=", src.display());
    let whole = tmp.path().join("whole");
    ok(&bcrename(&[
        "rename",
        "--policy",
        "prefix-map",
        "--prefix-map",
        &map,
        "--out-dir",
        whole.to_str().unwrap(),
        set.to_str().unwrap(),
    ]));
    for b in &backends {
        let per_backend = std::fs::read(out.join(b.replace(".bc", ".renamed.bc"))).unwrap();
        assert_eq!(
            per_backend,
            std::fs::read(tmp.path().join("whole").join(b)).unwrap(),
            "{b}: per-backend rename differs from the whole-set rename"
        );
    }
}
