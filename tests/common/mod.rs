//! Shared helpers for integration tests: test data, LLVM tools as oracles.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's testdata directory.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// The clang versions the test data was built with.
pub const VERSIONS: [u32; 3] = [14, 16, 19];

/// Every bitcode file under `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "bc" || x == "o") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The sets of modules a user would process together: one per clang
/// version, program and pipeline stage, with the clang version.
pub fn module_sets() -> Vec<(u32, String, Vec<PathBuf>)> {
    let mut sets = Vec::new();
    for v in VERSIONS {
        for prog in ["prog", "cfi"] {
            let base = testdata().join(format!("clang-{v}/{prog}"));
            let all_in = |stage: &str| files_under(&base.join(stage));
            sets.push((format!("clang-{v}/{prog}/prelink"), all_in("prelink")));
            for suffix in [".1.promote.bc", ".3.import.bc", ".5.precodegen.bc"] {
                let files = all_in("inprocess")
                    .into_iter()
                    .filter(|p| p.to_string_lossy().ends_with(suffix))
                    .collect();
                sets.push((format!("clang-{v}/{prog}/inprocess/*{suffix}"), files));
            }
            let backends = backends_under(&base.join("distributed"));
            sets.push((format!("clang-{v}/{prog}/distributed/*.bc"), backends));
            if v >= 16 {
                sets.push((format!("clang-{v}/{prog}/srcname"), all_in("srcname")));
            }
        }
        sets.push((
            format!("clang-{v}/darwin"),
            files_under(&testdata().join(format!("clang-{v}/darwin"))),
        ));
    }
    for (name, files) in &sets {
        assert!(
            !files.is_empty(),
            "no files for {name}: run testdata/build.sh"
        );
    }
    sets.into_iter()
        .map(|(name, files)| (name[6..8].parse().unwrap(), name, files))
        .collect()
}

/// An LLVM 19 tool, or `None` (the test is then skipped, except under CI,
/// where a missing tool is a failure).
pub fn llvm_tool(name: &str) -> Option<PathBuf> {
    llvm_tool_version(name, 19)
}

/// The LLVM tool of one version (e.g. llvm-dis-14 for clang 14 output, which
/// shows the module as that LLVM wrote it, without a newer LLVM's upgrades).
pub fn llvm_tool_version(name: &str, version: u32) -> Option<PathBuf> {
    let candidates = [
        format!("{name}-{version}"),
        format!("/usr/lib/llvm-{version}/bin/{name}"),
    ];
    if let Some(c) = candidates.iter().find(|c| answers(c)) {
        return Some(PathBuf::from(c));
    }
    not_found(&format!("{name}-{version}"), &format!("llvm-{version}"))
}

/// Whether `tool --version` runs and succeeds.
fn answers(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// For a tool the machine lacks (`package` has it): `None`, the test
/// calling for it then skipped, except under CI, where it is a failure.
fn not_found(tool: &str, package: &str) -> Option<PathBuf> {
    if std::env::var_os("CI").is_some() {
        panic!("{tool} not found; CI must install {package} (see .ci/run)");
    }
    eprintln!("skipping: {tool} not found (apt-get install {package})");
    None
}

/// A command on the PATH that Debian's `package` has, or `None` (as for a
/// missing LLVM tool, the test is then skipped, except under CI).
pub fn command(name: &str, package: &str) -> Option<PathBuf> {
    if answers(name) {
        return Some(PathBuf::from(name));
    }
    not_found(name, package)
}

/// Python 3, which runs the benchmark's program generator
/// (`benches/corpus.py`).
pub fn python3() -> Option<PathBuf> {
    command("python3", "python3")
}

/// Writes the C sources `m0.c` to `m{n-1}.c` (and `main.c`) of the program
/// of `n` modules of `funcs` functions each that the benchmarks generate,
/// into `dir`, with `benches/corpus.py`: static helpers called by exported
/// functions that call other modules' exported functions, so ThinLTO
/// imports across the modules and promotes the helpers.
pub fn generated_program(python: &Path, dir: &Path, n: usize, funcs: usize) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/corpus.py");
    ok(&Command::new(python)
        .arg(script)
        .arg(dir)
        .args([n.to_string(), funcs.to_string()])
        .output()
        .unwrap());
}

/// A global as `llvm-dis` prints it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DisGlobal {
    pub name: String,
    pub kind: &'static str,
    pub defined: bool,
    pub linkage: String,
}

/// A module as `llvm-dis` prints it: source_filename and globals.
#[derive(Debug, Clone, Default)]
pub struct DisModule {
    pub source_filename: String,
    pub globals: Vec<DisGlobal>,
    pub text: String,
}

/// Disassembles every module of `file` with llvm-dis.
pub fn llvm_dis(dis: &Path, file: &Path) -> Vec<DisModule> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.ll");
    let st = Command::new(dis)
        .arg(file)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success(), "llvm-dis failed on {}", file.display());
    let mut texts = Vec::new();
    if out.exists() {
        texts.push(std::fs::read_to_string(&out).unwrap());
    } else {
        for i in 0.. {
            let p = dir.path().join(format!("m.ll.{i}"));
            if !p.exists() {
                break;
            }
            texts.push(std::fs::read_to_string(&p).unwrap());
        }
    }
    assert!(
        !texts.is_empty(),
        "llvm-dis wrote nothing for {}",
        file.display()
    );
    texts.into_iter().map(|t| parse_ll(&t)).collect()
}

const LINKAGES: [&str; 11] = [
    "external",
    "weak",
    "appending",
    "internal",
    "linkonce",
    "extern_weak",
    "common",
    "private",
    "weak_odr",
    "linkonce_odr",
    "available_externally",
];

/// Reads a global name at the start of `s` (after `@`), unquoting.
fn read_name(s: &str) -> (String, &str) {
    if let Some(rest) = s.strip_prefix('"') {
        let end = rest.find('"').unwrap();
        let raw = &rest[..end];
        // llvm-dis escapes as \XX (two hex digits).
        let mut bytes = Vec::new();
        let b = raw.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'\\' {
                bytes.push(u8::from_str_radix(&raw[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                bytes.push(b[i]);
                i += 1;
            }
        }
        (
            String::from_utf8_lossy(&bytes).into_owned(),
            &rest[end + 1..],
        )
    } else {
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || "._$-".contains(c)))
            .unwrap_or(s.len());
        (s[..end].to_string(), &s[end..])
    }
}

/// Extracts source_filename and globals from llvm-dis text.
pub fn parse_ll(text: &str) -> DisModule {
    let mut m = DisModule {
        text: text.to_string(),
        ..Default::default()
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("source_filename = \"") {
            m.source_filename = rest.trim_end_matches('"').to_string();
        } else if let Some(rest) = line.strip_prefix('@') {
            let (name, rest) = read_name(rest);
            let rest = rest
                .trim_start()
                .strip_prefix('=')
                .expect("global line")
                .trim_start();
            let tokens: Vec<&str> = rest.split_whitespace().collect();
            let linkage = tokens
                .first()
                .filter(|t| LINKAGES.contains(t))
                .map(|t| t.to_string());
            let kind_tok = tokens
                .iter()
                .find(|t| ["global", "constant", "alias", "ifunc"].contains(t))
                .expect(line);
            let kind = match *kind_tok {
                "alias" => "alias",
                "ifunc" => "ifunc",
                _ => "variable",
            };
            let decl = kind == "variable"
                && matches!(linkage.as_deref(), Some("external") | Some("extern_weak"));
            m.globals.push(DisGlobal {
                name,
                kind,
                defined: !decl,
                linkage: linkage.unwrap_or_else(|| "external".into()),
            });
        } else if line.starts_with("define ") || line.starts_with("declare ") {
            let at = line.find(" @").unwrap();
            let (name, _) = read_name(&line[at + 2..]);
            let tokens: Vec<&str> = line[..at].split_whitespace().collect();
            let linkage = tokens
                .get(1)
                .filter(|t| LINKAGES.contains(t))
                .map(|t| t.to_string());
            m.globals.push(DisGlobal {
                name,
                kind: "function",
                defined: line.starts_with("define "),
                linkage: linkage.unwrap_or_else(|| "external".into()),
            });
        }
    }
    m.globals.sort();
    m
}

/// Runs the built binary.
pub fn bcrename(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bcrename"))
        .args(args)
        .output()
        .unwrap()
}

/// Compares `actual` with the golden file `tests/golden/NAME`; `BLESS=1`
/// rewrites it.
pub fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}; run with BLESS=1", path.display()));
    assert!(expected == actual, "{} is stale; diff it, then run with BLESS=1 if the change is right\n--- actual ---\n{actual}", path.display());
}

/// Runs the binary in `dir`.
pub fn bcrename_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bcrename"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// Copies `files` (under `base`) into `dest`, keeping relative paths.
pub fn copy_set(base: &Path, files: &[PathBuf], dest: &Path) -> Vec<PathBuf> {
    files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(base).unwrap();
            let to = dest.join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(f, &to).unwrap();
            rel.to_path_buf()
        })
        .collect()
}

/// Normalises llvm-dis text for comparison: drops the ModuleID line and
/// folds runs of spaces (label comments are padded to a column).
pub fn normalise_ll(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("; ModuleID"))
        .map(|l| {
            // The summary names the file it was read from.
            let l = match (l.starts_with('^'), l.find("(path: \""), l.find("\", hash")) {
                (true, Some(a), Some(b)) if a < b => {
                    format!("{}(path: <file>{}", &l[..a], &l[b + 1..])
                }
                _ => l.to_string(),
            };
            l.split(' ')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Replaces every promotion suffix `.llvm.<old>` (not followed by another
/// digit) with `.llvm.<new>`, as a text oracle for renames.
pub fn substitute_suffixes(text: &str, map: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(".llvm.") {
        out.push_str(&rest[..i + 6]);
        rest = &rest[i + 6..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        match map.get(&digits) {
            Some(new) if !digits.is_empty() => {
                out.push_str(new);
                rest = &rest[digits.len()..];
            }
            _ => {}
        }
    }
    out.push_str(rest);
    out
}

/// Asserts that a command succeeded, showing its output if not.
pub fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The directory all `files` share.
pub fn common_base(files: &[PathBuf]) -> PathBuf {
    let mut base = files[0].parent().unwrap().to_path_buf();
    while !files.iter().all(|f| f.starts_with(&base)) {
        base = base.parent().unwrap().to_path_buf();
    }
    base
}

/// llvm-dis text of a single-module file.
pub fn dis(tool: &Path, file: &Path) -> String {
    let out = Command::new(tool)
        .arg(file)
        .arg("-o")
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} cannot read {}: {}",
        tool.display(),
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts that no temporary output file is left under `dir`.
pub fn assert_no_temporaries(dir: &Path) {
    let left: Vec<_> = files_under(dir)
        .into_iter()
        .filter(|p| bcrename::output::is_temporary(p))
        .collect();
    assert!(left.is_empty(), "temporaries left behind: {left:?}");
}

/// True for a ThinLTO backend's output bitcode (`X.bc`, not `X.o.thinlto.bc`).
pub fn is_backend(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "bc") && !p.to_string_lossy().ends_with(".thinlto.bc")
}

/// The distributed ThinLTO backends (see [`is_backend`]) under `dir`, sorted.
pub fn backends_under(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| is_backend(p))
        .collect()
}

/// Copies the distributed ThinLTO backends under `dir` to `dest`, keeping
/// their paths relative to `dir`, which it returns.
pub fn copy_backends(dir: &Path, dest: &Path) -> Vec<PathBuf> {
    copy_set(dir, &backends_under(dir), dest)
}

/// Every file under `dir` with its bytes, by path relative to `dir`.
pub fn dir_bytes(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            (
                p.strip_prefix(dir).unwrap().to_path_buf(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// xorshift64: a small deterministic generator, so a failure reproduces.
pub struct Rng(pub u64);

impl Rng {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Flips `flag` in the symbol table entry of the first symbol of `data`
/// (a single-module file) whose IR name contains `.llvm.` and that `pick`
/// accepts by its flags, in place: the file stays valid bitcode and its
/// module unchanged. Returns the symbol's IR name.
pub fn flip_symtab_flag(data: &mut [u8], flag: u32, pick: impl Fn(u32) -> bool) -> String {
    use bcrename::bitcode::{BitcodeFile, ParseOptions};
    let file = BitcodeFile::parse(data, ParseOptions::default()).unwrap();
    let m = &file.modules[0];
    let strtab = file.strtab(data, m);
    let blob = &file.symtabs[m.symtab.unwrap()];
    let table = blob.table.as_ref().unwrap();
    let (i, name) = (table.symbols.iter().enumerate())
        .map(|(i, s)| (i, s, s.ir_name.get(strtab).unwrap()))
        .find(|(_, s, n)| n.windows(6).any(|w| w == b".llvm.") && pick(s.flags))
        .map(|(i, _, n)| (i, String::from_utf8_lossy(n).into_owned()))
        .expect("a promoted symbol");
    // A symbol is six little-endian words; its flags are the last.
    let at = blob.blob.start + table.header.symbols.offset as usize + i * 24 + 20;
    let flags = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
    assert_eq!(flags, table.symbols[i].flags);
    data[at..at + 4].copy_from_slice(&(flags ^ flag).to_le_bytes());
    name
}
