//! The `scan` report: what is promoted, where it is defined and referenced,
//! who owns each suffix and how that was found, and problems.
//!
//! Output is sorted (modules by path, names bytewise) so the JSON form is
//! byte-stable for the same inputs.

use std::fmt::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use crate::bitcode::{BitcodeFile, LocalNames, Module, ParseOptions};
use crate::error::Result;
use crate::input::{self, FirstRead, InputFile, OpenInput, Reading};
use crate::plan::build::{collect_mentions, ModuleRef, ModuleSummary};
use crate::plan::names::{self, PromotedName};
use crate::plan::owners::{self, HashedModule, IndexedModule, Problem, ResolvedBy};

/// What `scan` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// List every global, not only promoted ones.
    pub all: bool,
    /// ThinLTO pre-link bitcode (files or directories).
    pub prelink: Vec<String>,
    /// ThinLTO index files.
    pub index: Vec<String>,
}

/// A loaded input file: its parse, and what it takes to read it again.
pub struct LoadedFile {
    pub handle: FileHandle,
    pub bitcode: BitcodeFile,
}

/// The length of `data` and a hash of its bytes, those in `unread` left
/// out (which must lie in `data`).
fn fingerprint(data: &[u8], unread: Option<&Range<usize>>) -> (usize, u64) {
    use std::hash::Hasher;
    // A fast hash with a fixed seed: the same bytes give the same value in
    // every run. It guards against a file changing between two reads, not
    // against an adversary.
    let mut h = rustc_hash::FxHasher::default();
    match unread {
        Some(r) => {
            h.write(&data[..r.start]);
            h.write(&data[r.end..]);
        }
        None => h.write(data),
    }
    (data.len(), h.finish())
}

/// A file that was read once: enough to read it again and check that it
/// did not change in between.
pub struct FileHandle {
    pub input: InputFile,
    /// Length and hash of the bytes first read.
    fingerprint: (usize, u64),
    /// The part of the file the first read left out, and the file's
    /// modification time then: that part is read once, by the second
    /// read, and the file must not have been modified in between.
    unread: Option<(Range<usize>, Option<std::time::SystemTime>)>,
    /// The bytes, kept only for standard input (which cannot be read twice).
    kept: Option<Vec<u8>>,
    /// The file's permissions when it was read.
    permissions: Option<std::fs::Permissions>,
    /// The file, left open to be read again (taken when it is).
    open: Mutex<Option<OpenInput>>,
}

impl FileHandle {
    /// The file's bytes again, checked to be the bytes first read (read
    /// through the file if it was left open, which closes it). Where the
    /// first read left a part out, that part is read here for the first
    /// time, and the file must not have been modified since (its
    /// modification time is the same).
    ///
    /// # Errors
    /// I/O errors, or the file changed since it was first read.
    pub fn reread(&self) -> Result<Vec<u8>> {
        let input = &self.input;
        if let Some(d) = &self.kept {
            return Ok(d.clone());
        }
        let open = self.open.lock().unwrap().take();
        let (data, modified) =
            (input.read_again_dated(open, self.fingerprint.0, self.unread.is_some()))
                .map_err(|e| e.in_file(&input.display))?;
        // (The length first: the part left out must lie in the bytes the
        // fingerprint is taken of.)
        let same = data.len() == self.fingerprint.0
            && fingerprint(&data, self.unread.as_ref().map(|(r, _)| r)) == self.fingerprint
            && self
                .unread
                .as_ref()
                .is_none_or(|(_, then)| modified == *then);
        if !same {
            return Err(crate::Error::new(
                crate::ErrorKind::Io,
                format!(
                    "{}: the file changed while bcrename was working on it",
                    input.display
                ),
            ));
        }
        Ok(data)
    }

    /// How many of the file's bytes its first read took (all but a part
    /// it left out), and how many it has.
    pub fn first_read_bytes(&self) -> (usize, usize) {
        let left_out = self.unread.as_ref().map_or(0, |(r, _)| r.len());
        (self.fingerprint.0 - left_out, self.fingerprint.0)
    }

    /// The file's permissions when it was first read (`None` for standard
    /// input).
    pub fn permissions(&self) -> Option<&std::fs::Permissions> {
        self.permissions.as_ref()
    }
}

/// The report, in the JSON shape of the product spec.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ScanReport {
    pub version: u32,
    pub modules: Vec<ModuleReport>,
    pub suffixes: Vec<SuffixReport>,
    pub problems: Vec<Problem>,
    /// Non-bitcode files skipped under directory arguments.
    #[serde(skip)]
    pub skipped: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ModuleReport {
    pub path: String,
    pub producer: Option<String>,
    pub source_filename: Option<String>,
    pub hash: Option<String>,
    pub symbols: Vec<SymbolReport>,
    pub local_names: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct SymbolReport {
    pub name: String,
    pub kind: &'static str,
    pub defined: bool,
    pub linkage: &'static str,
    pub suffix: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SuffixReport {
    pub suffix: String,
    pub owner: Option<String>,
    pub source_filename: Option<String>,
    pub resolved_by: ResolvedBy,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Options for reading modules in `scan`: keep local names that carry a suffix.
pub fn scan_parse_options() -> ParseOptions {
    ParseOptions {
        local_names: Some(LocalNames {
            keep: names::carries_suffix,
            containing: names::TOKEN,
        }),
        ..ParseOptions::default()
    }
}

/// Reads and parses every input, on all cores.
///
/// # Errors
/// The first unreadable or malformed file, named in the error.
pub fn load(inputs: &[InputFile], options: ParseOptions) -> Result<Vec<LoadedFile>> {
    load_with_jobs(inputs, options, crate::parallel::default_jobs(), false)
}

/// [`load`] on up to `jobs` threads.
///
/// # Errors
/// As [`load`].
pub fn load_with_jobs(
    inputs: &[InputFile],
    options: ParseOptions,
    jobs: usize,
    keep_open: bool,
) -> Result<Vec<LoadedFile>> {
    let loaded = load_kept(inputs, options, jobs, keep_open, |_, bitcode| bitcode)?;
    Ok(loaded
        .into_iter()
        .map(|(handle, bitcode)| LoadedFile { handle, bitcode })
        .collect())
}

/// Reads and parses every input on up to `jobs` threads and keeps, of each,
/// what `keep` makes of its parse and what it takes to read it again: the
/// parse itself is dropped as soon as `keep` is done with it.
///
/// # Errors
/// As [`load`].
pub fn load_kept<T: Send>(
    inputs: &[InputFile],
    options: ParseOptions,
    jobs: usize,
    keep_open: bool,
    keep: impl Fn(&InputFile, BitcodeFile) -> T + Sync,
) -> Result<Vec<(FileHandle, T)>> {
    let reading = Reading {
        sniff: false,
        keep_open,
        leave_out: None,
    };
    let (read, _) = load_read(
        inputs,
        jobs,
        reading,
        || (),
        |(), input, first| {
            let data = first.whole().map_err(|e| input.read_error(e))?;
            let bitcode =
                BitcodeFile::parse(data, options).map_err(|e| e.in_file(&input.display))?;
            Ok(keep(input, bitcode))
        },
    )?;
    // (Nothing is skipped without a sniff.)
    Ok(read.into_iter().flatten().collect())
}

/// What [`load_read`] gives: for each input in order, what it takes to read
/// it again and what `keep` made of it (`None` when skipped); and the
/// threads' values.
pub type ReadSet<T, S> = (Vec<Option<(FileHandle, T)>>, Vec<S>);

/// Reads each input on up to `jobs` threads and keeps what `keep` makes of
/// its first read (all its bytes, unless [`Reading::leave_out`] left some
/// out: [`FirstRead::whole`] reads them), and what it takes to read it
/// again; the bytes are dropped as soon as `keep` is done with them. `None` for an input skipped as not
/// bitcode (only when [`Reading::sniff`]). `keep` may also add to a value
/// of its thread's (made by `init`): those values come back too, one per
/// thread (see [`crate::parallel::map_with`]).
///
/// # Errors
/// The first input (in order) that cannot be read or that `keep` fails on.
pub fn load_read<S: Send, T: Send>(
    inputs: &[InputFile],
    jobs: usize,
    reading: Reading,
    init: impl Fn() -> S + Sync,
    keep: impl Fn(&mut S, &InputFile, &mut FirstRead) -> Result<T> + Sync,
) -> Result<ReadSet<T, S>> {
    if reading.keep_open {
        input::make_room_to_keep_open(inputs.len());
    }
    let (read, values) = crate::parallel::map_with(inputs, jobs, init, |value, input| {
        let first = input.read_first(reading);
        let Some(mut first) = first.map_err(|e| e.in_file(&input.display))? else {
            return Ok(None);
        };
        let kept = keep(value, input, &mut first)?;
        let stdin = matches!(input.source, crate::input::Source::Stdin);
        let unread = first.unread.as_ref();
        let handle = FileHandle {
            input: input.clone(),
            fingerprint: fingerprint(&first.data, unread.map(|u| &u.range)),
            unread: unread.map(|u| (u.range.clone(), u.modified)),
            kept: stdin.then(|| first.data.clone()),
            permissions: first.permissions,
            open: Mutex::new(first.file),
        };
        crate::input::recycle(first.data);
        Ok(Some((handle, kept)))
    });
    Ok((read.into_iter().collect::<Result<_>>()?, values))
}

/// The IR modules of loaded files (ThinLTO indexes left out), named by
/// their files' paths: what a plan is built from.
pub fn module_refs(files: &[LoadedFile]) -> Vec<ModuleRef<'_>> {
    files
        .iter()
        .flat_map(|f| {
            f.bitcode
                .modules
                .iter()
                .filter(|m| !m.is_index())
                .map(move |m| ModuleRef {
                    path: &f.handle.input.display,
                    module: m,
                })
        })
        .collect()
}

/// Modules of `--prelink` paths that carry a HASH.
///
/// # Errors
/// Unreadable or malformed files.
pub fn load_prelink(paths: &[String]) -> Result<Vec<HashedModule>> {
    let expanded = input::expand(paths)?;
    let files = load(&expanded.files, ParseOptions::default())?;
    Ok(files
        .iter()
        .flat_map(|f| hashed_modules(&f.handle.input.display, &f.bitcode))
        .collect())
}

fn hashed_modules(path: &str, file: &BitcodeFile) -> Vec<HashedModule> {
    file.modules
        .iter()
        .filter_map(|m| {
            m.hash.as_ref().map(|h| HashedModule {
                path: path.to_string(),
                source_filename: m.source_filename.clone(),
                suffix: names::suffix_for_hash(h),
            })
        })
        .collect()
}

/// Suffix mappings of `--index` files. A module an index names is read, when
/// it exists, from the index file's directory or else the current directory.
///
/// # Errors
/// Unreadable or malformed index files or modules, or a file that is not an index.
pub fn load_index(paths: &[String]) -> Result<Vec<IndexedModule>> {
    let mut out = Vec::new();
    for p in paths {
        let data = std::fs::read(p).map_err(|e| crate::Error::from(e).in_file(p))?;
        let file = BitcodeFile::parse(&data, ParseOptions::default()).map_err(|e| e.in_file(p))?;
        let entries: Vec<_> = file
            .modules
            .iter()
            .flat_map(|m| m.index_entries.iter())
            .collect();
        if entries.is_empty() {
            return Err(crate::Error::new(
                crate::ErrorKind::Usage,
                format!("{p}: not a ThinLTO index (no MODULE_STRTAB block)"),
            ));
        }
        let dir = Path::new(p).parent().unwrap_or(Path::new(""));
        for e in entries {
            let Some(hash) = &e.hash else { continue };
            let module_path = text(&e.path);
            let suffix = names::suffix_for_hash(hash);
            let candidates = [dir.join(&module_path), PathBuf::from(&module_path)];
            let module = match candidates.iter().find(|c| c.is_file()) {
                Some(found) => {
                    let shown = found.to_string_lossy().into_owned();
                    let data = std::fs::read(found)
                        .map_err(|err| crate::Error::from(err).in_file(&shown))?;
                    let bc = BitcodeFile::parse(&data, ParseOptions::default())
                        .map_err(|err| err.in_file(&shown))?;
                    let mods = hashed_modules(&shown, &bc);
                    // The module whose own HASH gives this suffix; else the
                    // first module's source file name.
                    mods.iter()
                        .find(|m| m.suffix == suffix)
                        .cloned()
                        .or_else(|| {
                            bc.modules.first().map(|m| HashedModule {
                                path: shown.clone(),
                                source_filename: m.source_filename.clone(),
                                suffix: suffix.clone(),
                            })
                        })
                }
                None => None,
            };
            out.push(IndexedModule {
                index: p.clone(),
                module_path,
                suffix,
                module,
            });
        }
    }
    Ok(out)
}

fn module_report(path: &str, m: &Module, all: bool) -> ModuleReport {
    let mut symbols: Vec<SymbolReport> = m
        .globals
        .iter()
        .filter_map(|g| {
            let suffix = PromotedName::parse(&g.name).map(|p| p.suffix_str().to_string());
            (all || suffix.is_some()).then(|| SymbolReport {
                name: text(&g.name),
                kind: g.kind.as_str(),
                defined: g.defined,
                linkage: g.linkage.as_str(),
                suffix,
            })
        })
        .collect();
    symbols.sort();
    ModuleReport {
        path: path.to_string(),
        producer: m.producer().map(text),
        source_filename: m.source_filename.as_deref().map(text),
        hash: m.hash.as_ref().map(names::hash_hex),
        symbols,
        local_names: m.functions.iter().map(|f| f.local_names.len()).sum(),
    }
}

/// True for a file that holds a ThinLTO index and no module.
pub fn is_index_only(bitcode: &BitcodeFile) -> bool {
    bitcode.modules.iter().all(Module::is_index)
}

/// What `scan` reports and `rename` refuses for a ThinLTO index given as
/// an input.
pub fn index_input_message(path: &str) -> String {
    format!("{path} is a ThinLTO index, not a module; pass it with --index")
}

/// What the report takes from one file: its modules' reports, its own
/// problems and its modules' summaries. Small next to the parse, which is
/// dropped once these are taken, so a large set is scanned without
/// holding its modules.
struct FileFacts {
    modules: Vec<ModuleReport>,
    problems: Vec<Problem>,
    summaries: Vec<ModuleSummary>,
}

fn file_facts(path: &str, bitcode: &BitcodeFile, options: &ScanOptions) -> FileFacts {
    let mut facts = FileFacts {
        modules: Vec::new(),
        problems: Vec::new(),
        summaries: Vec::new(),
    };
    if is_index_only(bitcode) {
        facts.problems.push(Problem {
            kind: "index_input",
            message: index_input_message(path),
            suffix: None,
            modules: vec![path.to_string()],
        });
        return facts;
    }
    for m in bitcode.modules.iter().filter(|m| !m.is_index()) {
        for (place, text) in m.asm_texts() {
            for (suffix, at) in names::suffix_tokens(text) {
                let line = text[..at].iter().filter(|&&b| b == b'\n').count() + 1;
                facts.problems.push(Problem {
                    kind: "asm_reference",
                    message: format!(
                        "{path}: {place}, line {line}, names a promoted symbol (.llvm.{suffix}); renaming it would leave the asm stale"
                    ),
                    suffix: Some(suffix.to_string()),
                    modules: vec![path.to_string()],
                });
            }
        }
        if let Some(si) = m.symtab {
            let st = &bitcode.symtabs[si];
            if !st.known_version() {
                facts.problems.push(Problem {
                    kind: "unknown_symtab_version",
                    message: format!(
                        "{path}: symbol table version {} is unknown; a rename would drop the table",
                        st.version
                            .map(|v| v.to_string())
                            .unwrap_or_else(|| "(missing)".into())
                    ),
                    suffix: None,
                    modules: vec![path.to_string()],
                });
            }
        }
        facts.modules.push(module_report(path, m, options.all));
        facts.summaries.push(ModuleSummary::of(path, m));
    }
    facts
}

/// The report from every file's facts, in input order.
fn report(
    files: Vec<FileFacts>,
    prelink: &[HashedModule],
    index: &[IndexedModule],
    skipped: usize,
) -> ScanReport {
    let mut modules = Vec::new();
    let mut problems = Vec::new();
    let mut summaries = Vec::new();
    for f in files {
        modules.extend(f.modules);
        problems.extend(f.problems);
        summaries.extend(f.summaries);
    }
    let (mentions, source_filenames) = collect_mentions(summaries);
    // Stable sort: two modules of one file keep their order.
    modules.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    let (owners, resolve_problems) = owners::resolve(&mentions, &source_filenames, prelink, index);
    problems.extend(resolve_problems);
    problems.sort();
    problems.dedup();
    let suffixes = owners
        .into_iter()
        .map(|o| SuffixReport {
            suffix: o.suffix,
            owner: o.owner,
            source_filename: o.source_filename.as_deref().map(text),
            resolved_by: o.resolved_by,
        })
        .collect();
    ScanReport {
        version: 1,
        modules,
        suffixes,
        problems,
        skipped,
    }
}

/// Runs `scan` over command-line inputs.
///
/// # Errors
/// Missing, unreadable or malformed inputs, prelink or index files.
pub fn scan(inputs: &[String], options: &ScanOptions) -> Result<ScanReport> {
    let expanded = input::expand(inputs)?;
    if expanded.files.is_empty() {
        return Err(crate::Error::new(
            crate::ErrorKind::Usage,
            format!(
                "no bitcode files among the inputs ({} other files skipped)",
                expanded.skipped.len()
            ),
        ));
    }
    let jobs = crate::parallel::default_jobs();
    let files = load_kept(
        &expanded.files,
        scan_parse_options(),
        jobs,
        false,
        |input, bitcode| file_facts(&input.display, &bitcode, options),
    )?;
    let prelink = load_prelink(&options.prelink)?;
    let index = load_index(&options.index)?;
    Ok(report(
        files.into_iter().map(|(_, facts)| facts).collect(),
        &prelink,
        &index,
        expanded.skipped.len(),
    ))
}

impl ScanReport {
    /// The JSON form, pretty-printed, with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("report serializes");
        s.push('\n');
        s
    }

    /// The human form: a short table per module, the suffixes, the problems
    /// and a summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let (mut defs, mut refs) = (0, 0);
        for m in &self.modules {
            let _ = writeln!(
                out,
                "{}  ({}, source {})",
                m.path,
                m.producer.as_deref().unwrap_or("unknown producer"),
                m.source_filename.as_deref().unwrap_or("unknown")
            );
            for s in &m.symbols {
                let role = match (s.defined, s.linkage) {
                    (true, "available_externally") => "copy",
                    (true, _) => "def",
                    (false, _) => "ref",
                };
                if s.suffix.is_some() {
                    if role == "def" {
                        defs += 1;
                    } else {
                        refs += 1;
                    }
                }
                let _ = writeln!(
                    out,
                    "  {role:<4} {:<8} {:<20} {}",
                    s.kind, s.linkage, s.name
                );
            }
            if m.local_names > 0 {
                let _ = writeln!(
                    out,
                    "  {} function-local name(s) carry a promotion suffix",
                    m.local_names
                );
            }
        }
        if !self.suffixes.is_empty() {
            let _ = writeln!(out, "suffixes:");
            for s in &self.suffixes {
                let by = serde_json::to_value(s.resolved_by)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                match &s.owner {
                    Some(owner) => {
                        let _ = writeln!(
                            out,
                            "  .llvm.{:<20} {}  (source {}; by {by})",
                            s.suffix,
                            owner,
                            s.source_filename.as_deref().unwrap_or("unknown")
                        );
                    }
                    None => {
                        let _ = writeln!(out, "  .llvm.{:<20} unresolved", s.suffix);
                    }
                }
            }
        }
        for p in &self.problems {
            let _ = writeln!(out, "problem: {} ({})", p.message, p.kind);
        }
        let unresolved = self
            .suffixes
            .iter()
            .filter(|s| s.resolved_by == ResolvedBy::Unresolved)
            .count();
        let _ = write!(
            out,
            "{} modules, {defs} promoted definitions, {refs} references, {} suffixes ({} resolved, {unresolved} unresolved), {} problems",
            self.modules.len(),
            self.suffixes.len(),
            self.suffixes.len() - unresolved,
            self.problems.len()
        );
        if self.skipped > 0 {
            let _ = write!(out, "; {} non-bitcode files skipped", self.skipped);
        }
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::fingerprint;
    use crate::input::{FirstRead, InputFile, Reading};
    use std::sync::Mutex;

    /// A file that grew, shrank or changed a byte between the plan's read
    /// and the rewrite's is refused; one left alone reads the same; read
    /// again through the file kept open or by its path.
    #[test]
    fn a_file_changed_between_two_reads_is_refused() {
        let (_tmp, p, input) = crate::testing::temp_input("m.bc");
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let mut grown = data.clone();
        grown.push(1);
        let mut flipped = data.clone();
        flipped[4321] ^= 4;
        for (changed, to) in [
            (false, data.clone()),
            (true, grown),
            (true, data[..4999].to_vec()),
            (true, flipped),
        ] {
            for keep_open in [false, true] {
                std::fs::write(&p, &data).unwrap();
                let handle = read_once(&input, keep_open);
                std::fs::write(&p, &to).unwrap();
                match handle.reread() {
                    Ok(again) => assert!(!changed && again == data),
                    Err(e) => assert!(changed && e.to_string().contains("changed while"), "{e}"),
                }
            }
        }
    }

    /// `input` read once with [`super::load_read`], the file kept open or not.
    fn read_once(input: &crate::input::InputFile, keep_open: bool) -> super::FileHandle {
        let reading = crate::input::Reading {
            sniff: false,
            keep_open,
            leave_out: None,
        };
        let read = |_: &mut (), _: &_, _: &mut _| Ok(());
        let (loaded, _) =
            super::load_read(std::slice::from_ref(input), 1, reading, || (), read).unwrap();
        let (handle, ()) = loaded.into_iter().next().unwrap().unwrap();
        assert_eq!(handle.open.lock().unwrap().is_some(), keep_open);
        handle
    }

    /// A file kept open is read again through itself: a file put in its
    /// place by a rename in between is not the one read (nor an error);
    /// read again by path, it is, and refused as a change.
    #[cfg(unix)]
    #[test]
    fn a_file_kept_open_is_read_again_whatever_its_path_names() {
        let (tmp, p, input) = crate::testing::temp_input("m.bc");
        for keep_open in [false, true] {
            std::fs::write(&p, b"first").unwrap();
            let handle = read_once(&input, keep_open);
            let other = tmp.path().join("other");
            std::fs::write(&other, b"second").unwrap();
            std::fs::rename(&other, &p).unwrap();
            match handle.reread() {
                Ok(again) => assert!(keep_open && again == b"first"),
                Err(e) => assert!(!keep_open && e.to_string().contains("changed while"), "{e}"),
            }
        }
    }

    /// A file changed between the two reads is caught: any single changed
    /// byte, anywhere, changes the fingerprint.
    #[test]
    fn fingerprint_sees_every_changed_byte() {
        let data: Vec<u8> = (0..4099u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let base = fingerprint(&data, None);
        assert_eq!(base, fingerprint(&data.clone(), None));
        let unread = 1000..3000;
        let parts = fingerprint(&data, Some(&unread));
        for at in 0..data.len() {
            for flip in [1u8, 0x80, 0xff] {
                let mut d = data.clone();
                d[at] ^= flip;
                assert_ne!(fingerprint(&d, None), base, "byte {at} ^ {flip:#x}");
                // With a part left unread, every byte but its own.
                let seen = fingerprint(&d, Some(&unread)) != parts;
                assert_eq!(seen, !unread.contains(&at), "byte {at} ^ {flip:#x}");
            }
        }
        assert_ne!(fingerprint(&data[..4098], None), base);
    }

    /// A part left out of the first read (as [`crate::input::Reading::leave_out`]
    /// names it) is read by [`crate::input::FirstRead::whole`] and by the
    /// second read; a change elsewhere is refused, and so is one inside it
    /// that moves the file's modification time; inside it with the time put
    /// back, the second read gives the new bytes (they were never read
    /// before). Through the file kept open or by path.
    #[test]
    fn a_part_left_out_is_read_once_and_the_rest_checked() {
        use std::time::{Duration, SystemTime};
        let (_tmp, p, input) = crate::testing::temp_input("m.bc");
        let len = 40_000usize;
        let data: Vec<u8> = (0..len).map(|i| (i * 31 % 253) as u8).collect();
        let at = |i: usize| -> Vec<u8> {
            let mut d = data.clone();
            d[i] ^= 0x10;
            d
        };
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        // (Changed, the new bytes, whether the time is put back.)
        let cases = [
            (false, data.clone(), true),
            (true, at(100), true),
            (true, at(len - 100), true),
            (false, at(len / 2), true),
            (true, at(len / 2), false),
        ];
        for (changed, to, same_time) in cases {
            for keep_open in [false, true] {
                std::fs::write(&p, &data).unwrap();
                let f = std::fs::File::options().write(true).open(&p).unwrap();
                f.set_modified(time).unwrap();
                drop(f);
                let reading = Reading {
                    sniff: false,
                    keep_open,
                    leave_out: Some(|_, len| Some(3000..len - 3000)),
                };
                let whole = |_: &mut (), _: &InputFile, first: &mut FirstRead| {
                    let u = first.unread.as_ref().expect("a part left out");
                    assert_eq!(u.range, 3000..len - 3000);
                    assert!(first.data[..3000] == data[..3000]);
                    assert!(first.data[len - 3000..] == data[len - 3000..]);
                    assert!(first.whole().unwrap() == &data[..]);
                    assert!(first.unread.is_none());
                    Ok(())
                };
                let (loaded, _) =
                    super::load_read(std::slice::from_ref(&input), 1, reading, || (), whole)
                        .unwrap();
                let (mut handle, ()) = loaded.into_iter().next().unwrap().unwrap();
                // Read whole the first time: every byte is checked.
                assert!(handle.unread.is_none());
                let checks_all = !changed && to != data;
                // The same first read, its part left unread.
                let leave = |_: &mut (), _: &InputFile, _: &mut FirstRead| Ok(());
                let (loaded, _) =
                    super::load_read(std::slice::from_ref(&input), 1, reading, || (), leave)
                        .unwrap();
                let (partly, ()) = loaded.into_iter().next().unwrap().unwrap();
                assert_eq!(partly.open.lock().unwrap().is_some(), keep_open);
                std::fs::write(&p, &to).unwrap();
                let f = std::fs::File::options().write(true).open(&p).unwrap();
                f.set_modified(if same_time {
                    time
                } else {
                    time + Duration::from_secs(1)
                })
                .unwrap();
                drop(f);
                match partly.reread() {
                    Ok(again) => assert!(!changed && again == to, "{changed} {keep_open}"),
                    Err(e) => assert!(changed && e.to_string().contains("changed while"), "{e}"),
                }
                // The handle of the whole first read sees any change.
                handle.open = Mutex::new(None);
                assert_eq!(handle.reread().is_err(), changed || checks_all);
            }
        }
    }
}
