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
