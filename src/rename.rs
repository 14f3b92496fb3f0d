//! The `rename` command: read the set, plan, check, rewrite, write.
//!
//! Every usage error is found before a byte of input is read; every plan
//! error before a byte of output is written. Outputs go to temporary files
//! in their destination directories and are renamed into place only when all
//! of them were written, so a failure leaves no partial batch and no
//! temporaries behind.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::bitcode::rewrite::{self, Change, Rewritten};
use crate::error::{Error, ErrorKind, Result};
use crate::input::{self, InputFile, Source};
use crate::plan::build::{self, ModuleRef, Plan, PlanOptions};
use crate::scan::{self, LoadedFile};

/// Where outputs go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// `-o FILE` (one input).
    File(PathBuf),
    /// `-o -`.
    Stdout,
    /// `--out-dir DIR`.
    OutDir(PathBuf),
    /// `--in-place`.
    InPlace,
    /// Nothing is written (`--dry-run`, `--check`).
    Nowhere,
}

/// A resolved `rename` request.
#[derive(Debug, Clone)]
pub struct RenameOptions {
    pub plan: PlanOptions,
    pub prelink: Vec<String>,
    pub index: Vec<String>,
    pub output: Output,
    pub map_out: Option<PathBuf>,
    pub plan_out: Option<PathBuf>,
    /// Worker threads (at least 1).
    pub jobs: usize,
    pub engine: EngineKind,
}

/// Which implementation rewrites the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    /// bcrename's own bitstream rewriter.
    #[default]
    Native,
    /// Through LLVM's C API (the `llvm` feature).
    Llvm,
}

fn rewrite_one(f: &LoadedFile, plan: &Plan, engine: EngineKind) -> Result<Rewritten> {
    match engine {
        EngineKind::Native => rewrite::rewrite(&f.data, &f.bitcode, plan),
        #[cfg(feature = "llvm")]
        EngineKind::Llvm => crate::llvm::rewrite(&f.data, &f.bitcode, plan, &f.input.display),
        #[cfg(not(feature = "llvm"))]
        EngineKind::Llvm => Err(Error::new(
            ErrorKind::Usage,
            "this bcrename was built without the `llvm` feature (cargo build --features llvm)",
        )),
    }
}

/// One module file's result.
#[derive(Debug)]
pub struct FileResult {
    pub input: InputFile,
    /// The input's bytes, as read once.
    pub data: Vec<u8>,
    pub output: Option<PathBuf>,
    pub rewritten: Rewritten,
}

/// What a rename did (or would do).
#[derive(Debug)]
pub struct RenameOutcome {
    pub plan: Plan,
    pub files: Vec<FileResult>,
}

impl RenameOutcome {
    /// Number of names changed over all files.
    pub fn change_count(&self) -> usize {
        self.files.iter().map(|f| f.rewritten.changes.len()).sum()
    }

    /// Files that change.
    pub fn changed_files(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.rewritten.bytes.is_some())
            .count()
    }

    /// The `--map-out` JSON.
    pub fn map_json(&self) -> String {
        #[derive(Serialize)]
        struct Entry {
            module: String,
            old: String,
            new: String,
            kind: &'static str,
        }
        #[derive(Serialize)]
        struct Unmatched {
            old: String,
            new: String,
        }
        #[derive(Serialize)]
        struct Map {
            version: u32,
            renames: Vec<Entry>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            unmatched: Vec<Unmatched>,
        }
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let mut renames: Vec<(&str, &Change)> = self
            .files
            .iter()
            .flat_map(|f| {
                f.rewritten
                    .changes
                    .iter()
                    .map(move |c| (f.input.display.as_str(), c))
            })
            .collect();
        renames.sort_by(|a, b| {
            (a.0.as_bytes(), &a.1.old, &a.1.new, a.1.kind).cmp(&(
                b.0.as_bytes(),
                &b.1.old,
                &b.1.new,
                b.1.kind,
            ))
        });
        renames.dedup_by(|a, b| {
            a.0 == b.0 && a.1.old == b.1.old && a.1.new == b.1.new && a.1.kind == b.1.kind
        });
        let map = Map {
            version: 1,
            renames: renames
                .into_iter()
                .map(|(m, c)| Entry {
                    module: m.to_string(),
                    old: text(&c.old),
                    new: text(&c.new),
                    kind: c.kind.as_str(),
                })
                .collect(),
            unmatched: self
                .plan
                .unmatched
                .iter()
                .map(|(o, n)| Unmatched {
                    old: text(o),
                    new: text(n),
                })
                .collect(),
        };
        let mut s = serde_json::to_string_pretty(&map).expect("serializes");
        s.push('\n');
        s
    }
}

fn usage(m: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, m)
}

/// Where each input goes, checked for collisions before anything is read.
fn output_paths(files: &[InputFile], output: &Output) -> Result<Vec<Option<PathBuf>>> {
    let paths: Vec<Option<PathBuf>> = match output {
        Output::Nowhere | Output::Stdout => files.iter().map(|_| None).collect(),
        Output::File(p) => {
            if files.len() != 1 {
                return Err(usage(format!(
                    "-o takes exactly one input, got {} (use --out-dir)",
                    files.len()
                )));
            }
            vec![Some(p.clone())]
        }
        Output::InPlace => files
            .iter()
            .map(|f| match &f.source {
                Source::File(p) => Ok(Some(p.clone())),
                Source::Stdin => Err(usage("--in-place cannot rewrite standard input")),
            })
            .collect::<Result<_>>()?,
        Output::OutDir(dir) => files
            .iter()
            .map(|f| match (&f.source, &f.relative) {
                (Source::Stdin, _) => Err(usage("standard input needs -o, not --out-dir")),
                (_, Some(rel)) => Ok(Some(dir.join(rel))),
                (Source::File(p), None) => {
                    let name = p
                        .file_name()
                        .ok_or_else(|| usage(format!("{}: not a file name", p.display())))?;
                    Ok(Some(dir.join(name)))
                }
            })
            .collect::<Result<_>>()?,
    };
    if matches!(output, Output::Stdout) && files.len() != 1 {
        return Err(usage(format!(
            "-o - takes exactly one input, got {}",
            files.len()
        )));
    }
    let mut seen: BTreeMap<PathBuf, &str> = BTreeMap::new();
    for (f, p) in files.iter().zip(&paths) {
        let Some(p) = p else { continue };
        let key = normalise(p);
        if let Some(prev) = seen.insert(key.clone(), &f.display) {
            return Err(usage(format!(
                "{} and {} would both be written to {}",
                prev,
                f.display,
                p.display()
            )));
        }
        if *output != Output::InPlace {
            if let Source::File(src) = &f.source {
                if normalise(src) == key {
                    return Err(usage(format!(
                        "output {} is the input itself; use --in-place",
                        p.display()
                    )));
                }
            }
        }
    }
    Ok(paths)
}

/// An absolute, symlink-resolved form of a path that may not exist yet.
fn normalise(p: &Path) -> PathBuf {
    if let Ok(c) = fs::canonicalize(p) {
        return c;
    }
    let parent = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (fs::canonicalize(parent), p.file_name()) {
        (Ok(d), Some(n)) => d.join(n),
        _ => p.to_path_buf(),
    }
}

/// Runs `rename` over command-line inputs.
///
/// # Errors
/// Usage, input, plan and write errors; on any error no output is left
/// half-written and no input is modified.
pub fn run(inputs: &[String], options: &RenameOptions) -> Result<RenameOutcome> {
    let expanded = input::expand(inputs)?;
    if expanded.files.is_empty() {
        return Err(usage(format!(
            "no bitcode files among the inputs ({} other files skipped)",
            expanded.skipped.len()
        )));
    }
    let outputs = output_paths(&expanded.files, &options.output)?;
    let files = scan::load(&expanded.files, scan::scan_parse_options())?;
    for f in &files {
        if f.bitcode.modules.iter().all(|m| m.is_index()) {
            return Err(usage(format!(
                "{} is a ThinLTO index, not a module; pass it with --index",
                f.input.display
            )));
        }
    }
    let prelink = scan::load_prelink(&options.prelink)?;
    let index = scan::load_index(&options.index)?;
    let refs: Vec<ModuleRef<'_>> = files
        .iter()
        .flat_map(|f| {
            f.bitcode
                .modules
                .iter()
                .filter(|m| !m.is_index())
                .map(move |m| ModuleRef {
                    path: &f.input.display,
                    module: m,
                })
        })
        .collect();
    let plan = build::build(&refs, &prelink, &index, &options.plan)?;
    let rewritten = rewrite_all(&files, &plan, options.jobs, options.engine)?;
    let outcome = RenameOutcome {
        files: files
            .into_iter()
            .zip(outputs)
            .zip(rewritten)
            .map(|((f, output), rewritten)| FileResult {
                input: f.input,
                data: f.data,
                output,
                rewritten,
            })
            .collect(),
        plan,
    };
    Ok(outcome)
}

/// Rewrites every file on `jobs` threads; results come back in input order.
fn rewrite_all(
    files: &[LoadedFile],
    plan: &Plan,
    jobs: usize,
    engine: EngineKind,
) -> Result<Vec<Rewritten>> {
    crate::parallel::map(files, jobs, |f| {
        rewrite_one(f, plan, engine).map_err(|e| e.in_file(&f.input.display))
    })
    .into_iter()
    .collect()
}

/// An output ready to be put in place.
enum Staged {
    /// A temporary next to the destination, renamed over it on commit.
    Temp { temp: PathBuf, dest: PathBuf },
    /// A destination that is not a regular file (`/dev/null`, a pipe):
    /// written directly on commit, never replaced.
    Direct { dest: PathBuf, bytes: Vec<u8> },
}

fn temp_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.bcrename-{}.tmp", std::process::id()))
}

fn io_error(e: std::io::Error, p: &Path) -> Error {
    Error::new(ErrorKind::Io, format!("{}: {e}", p.display()))
}

/// Decides how `bytes` reach `dest`: a device or pipe is written through;
/// anything else via a temporary next to it (a symbolic link is followed:
/// its target is rewritten, the link stays). Directories it has to create
/// are added to `created` so a failed batch can remove them. Nothing is
/// written yet.
fn prepare(dest: &Path, bytes: Vec<u8>, created: &mut Vec<PathBuf>) -> Result<Staged> {
    if let Ok(meta) = fs::metadata(dest) {
        if meta.is_dir() {
            return Err(Error::new(
                ErrorKind::Io,
                format!("{}: is a directory", dest.display()),
            ));
        }
        if !meta.is_file() {
            return Ok(Staged::Direct {
                dest: dest.to_path_buf(),
                bytes,
            });
        }
    }
    let is_link = fs::symlink_metadata(dest)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false);
    let dest = if is_link {
        fs::canonicalize(dest).map_err(|e| io_error(e, dest))?
    } else {
        dest.to_path_buf()
    };
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut outermost = None;
        let mut missing = dir;
        while !missing.as_os_str().is_empty() && !missing.exists() {
            outermost = Some(missing.to_path_buf());
            missing = missing.parent().unwrap_or(Path::new(""));
        }
        let made = fs::create_dir_all(dir);
        if let Some(o) = outermost.filter(|o| o.is_dir()) {
            created.push(o);
        }
        made.map_err(|e| io_error(e, dir))?;
    }
    Ok(Staged::Temp {
        temp: temp_path(&dest),
        dest,
    })
}

/// Writes and syncs the temporary of a staged output.
fn write_temp(temp: &Path, dest: &Path, bytes: &[u8], mode_from: Option<&Path>) -> Result<()> {
    let result = (|| {
        let mut f = fs::File::create(temp)?;
        f.write_all(bytes)?;
        if let Some(src) = mode_from {
            f.set_permissions(fs::metadata(src)?.permissions())?;
        }
        f.sync_all()
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(temp);
        io_error(e, dest)
    })
}

fn discard(staged: &[Staged]) {
    for s in staged {
        if let Staged::Temp { temp, .. } = s {
            let _ = fs::remove_file(temp);
        }
    }
}

/// Puts staged outputs in place; on a failure the temporaries not yet
/// renamed are removed.
fn commit(staged: Vec<Staged>) -> Result<()> {
    let mut dirs = std::collections::BTreeSet::new();
    for (i, s) in staged.iter().enumerate() {
        let result = match s {
            Staged::Temp { temp, dest } => {
                dirs.insert(
                    dest.parent()
                        .filter(|d| !d.as_os_str().is_empty())
                        .unwrap_or(Path::new("."))
                        .to_path_buf(),
                );
                fs::rename(temp, dest).map_err(|e| io_error(e, dest))
            }
            Staged::Direct { dest, bytes } => fs::OpenOptions::new()
                .write(true)
                .open(dest)
                .and_then(|mut f| f.write_all(bytes))
                .map_err(|e| io_error(e, dest)),
        };
        if let Err(e) = result {
            discard(&staged[i + 1..]);
            return Err(e);
        }
    }
    // Make the renames durable: each directory once.
    for dir in dirs {
        fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(e, &dir))?;
    }
    Ok(())
}

/// Writes the outputs, the map and the plan. With `--in-place`, inputs are
/// replaced only after every output was staged.
///
/// # Errors
/// I/O errors; staged temporaries are removed.
pub fn write_outputs(
    outcome: &RenameOutcome,
    options: &RenameOptions,
    stdout: &mut dyn Write,
) -> Result<()> {
    // What goes where: (destination, bytes, file whose mode to keep).
    let mut wanted: Vec<(&Path, &[u8], Option<&Path>)> = Vec::new();
    for f in &outcome.files {
        let bytes = f.rewritten.bytes.as_deref();
        match (&options.output, &f.output) {
            (Output::Stdout, _) => stdout.write_all(bytes.unwrap_or(&f.data))?,
            // In place, an unchanged file stays as it is.
            (Output::InPlace, Some(dest)) => {
                if let Some(b) = bytes {
                    wanted.push((dest, b, Some(dest)));
                }
            }
            (_, Some(dest)) => {
                let src = match &f.input.source {
                    Source::File(p) => Some(p.as_path()),
                    Source::Stdin => None,
                };
                wanted.push((dest, bytes.unwrap_or(&f.data), src));
            }
            (_, None) => {}
        }
    }
    let map = options.map_out.as_ref().map(|p| (p, outcome.map_json()));
    let plan = options
        .plan_out
        .as_ref()
        .map(|p| (p, outcome.plan.to_manifest_json()));
    for (p, text) in map.iter().chain(plan.iter()) {
        wanted.push((p, text.as_bytes(), None));
    }

    let mut created = Vec::new();
    let mut staged = Vec::new();
    let mut result = Ok(());
    for (dest, bytes, _) in &wanted {
        // Only devices and pipes keep their bytes until commit.
        let direct = fs::metadata(dest)
            .map(|m| !m.is_file() && !m.is_dir())
            .unwrap_or(false);
        match prepare(
            dest,
            if direct { bytes.to_vec() } else { Vec::new() },
            &mut created,
        ) {
            Ok(s) => staged.push(s),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok() {
        // Write and sync the temporaries on `jobs` threads.
        // staged[i] is wanted[i]: one was prepared for each, in order.
        let indices: Vec<usize> = (0..staged.len()).collect();
        let written = crate::parallel::map(&indices, options.jobs, |&i| match &staged[i] {
            Staged::Temp { temp, dest } => write_temp(temp, dest, wanted[i].1, wanted[i].2),
            Staged::Direct { .. } => Ok(()),
        });
        if let Some(e) = written.into_iter().find_map(|r| r.err()) {
            result = Err(e);
        }
    }
    let result = match result {
        Err(e) => {
            discard(&staged);
            Err(e)
        }
        Ok(()) => commit(staged),
    };
    if result.is_err() {
        // Directories made for this batch held only its temporaries.
        for dir in created.iter().rev() {
            let _ = fs::remove_dir_all(dir);
        }
    }
    result
}
