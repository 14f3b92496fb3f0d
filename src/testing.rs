//! Helpers for the unit tests.

/// A fixed pseudo-random sequence (xorshift64), for repeatable tests.
pub fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

/// Every file under `testdata/`, sorted.
pub fn testdata_paths() -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")];
    while let Some(d) = pending.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                pending.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A file of `testdata/` (`rel` below it), read whole and parsed with
/// everything but local names.
pub fn testdata_file(rel: &str) -> (Vec<u8>, crate::bitcode::BitcodeFile) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file = crate::bitcode::BitcodeFile::parse(&data, crate::bitcode::ParseOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (data, file)
}

/// The input file `p`, as named on a command line.
pub fn named_input(p: &std::path::Path) -> crate::input::InputFile {
    crate::input::InputFile {
        source: crate::input::Source::File(p.to_path_buf()),
        display: p.display().to_string(),
        relative: None,
    }
}

/// A temporary directory and the input file `name` in it (not made), as
/// named on a command line: the directory lives as long as the first.
pub fn temp_input(
    name: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    crate::input::InputFile,
) {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join(name);
    let input = named_input(&p);
    (tmp, p, input)
}
