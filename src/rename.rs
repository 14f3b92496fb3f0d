//! The `rename` command: read the set, plan, check, rewrite, write.
//!
//! Every usage error is found before a byte of input is read; every plan
//! error before a byte of output is written. The set-wide part (the plan)
//! needs only names, so files are read once to plan and their bytes
//! dropped; each is then read again, rewritten and staged on its own, so
//! memory holds one file per job, not the set. A file that changed between
//! the two reads is an error. Outputs are written as a [`Batch`]: all or
//! nothing.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::bitcode::rewrite::{self, Change, Rewritten};
use crate::bitcode::{BitcodeFile, ParseOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::input::{self, InputFile, Source};
use crate::output::Batch;
use crate::plan::build::{self, Plan, PlanOptions};
use crate::scan::{self, FileHandle, LoadedFile};

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
    /// Show progress on standard error (for long runs on a terminal).
    pub progress: bool,
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

#[cfg_attr(not(feature = "llvm"), allow(unused_variables))]
fn rewrite_one(
    display: &str,
    bitcode: &BitcodeFile,
    data: &[u8],
    plan: &Plan,
    engine: EngineKind,
) -> Result<Rewritten> {
    match engine {
        EngineKind::Native => rewrite::rewrite(data, bitcode, plan),
        #[cfg(feature = "llvm")]
        EngineKind::Llvm => crate::llvm::rewrite(data, bitcode, plan, display),
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
    pub output: Option<PathBuf>,
    /// Every rename made in the file.
    pub changes: Vec<Change>,
    pub warnings: Vec<String>,
}

/// What a rename did (or, with nowhere to write, would do).
#[derive(Debug)]
pub struct RenameOutcome {
    pub plan: Plan,
    pub files: Vec<FileResult>,
}

impl RenameOutcome {
    /// Number of names changed over all files.
    pub fn change_count(&self) -> usize {
        self.files.iter().map(|f| f.changes.len()).sum()
    }

    /// Files that change.
    pub fn changed_files(&self) -> usize {
        self.files.iter().filter(|f| !f.changes.is_empty()).count()
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
            .flat_map(|f| f.changes.iter().map(move |c| (f.input.display.as_str(), c)))
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

/// Reports progress on standard error, at most a few times a second.
struct Progress {
    total: usize,
    done: std::sync::atomic::AtomicUsize,
    last: std::sync::Mutex<std::time::Instant>,
    enabled: bool,
}

impl Progress {
    fn new(total: usize, enabled: bool) -> Self {
        Progress {
            total,
            done: 0.into(),
            last: std::sync::Mutex::new(std::time::Instant::now()),
            enabled,
        }
    }

    fn tick(&self) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if !self.enabled {
            return;
        }
        let mut last = self.last.lock().unwrap();
        if done == self.total || last.elapsed() >= std::time::Duration::from_millis(200) {
            *last = std::time::Instant::now();
            eprint!("\rbcrename: {done}/{} files", self.total);
            if done == self.total {
                eprintln!();
            }
        }
    }
}

/// How the plan is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Planning {
    /// From the module-level names alone: no function body is read to plan.
    /// Each file's bodies are checked against the plan when it is rewritten
    /// ([`Plan::check_bodies`]); a local name with a suffix no global of
    /// the set carries (rare: an inlined copy of a function the set no
    /// longer has) sends the run back to plan with the bodies read.
    NamesOnly,
    /// From every name, function-local ones included, and every asm text.
    WithBodies,
}

/// Runs `rename` over command-line inputs: plans, rewrites and (unless
/// the output is [`Output::Nowhere`]) writes. `stdout` receives `-o -`.
///
/// # Errors
/// Usage, input, plan and write errors; on any error no output is left
/// half-written and no input is modified.
pub fn run(
    inputs: &[String],
    options: &RenameOptions,
    stdout: &mut dyn Write,
) -> Result<RenameOutcome> {
    let expanded = input::expand(inputs)?;
    if expanded.files.is_empty() {
        return Err(usage(format!(
            "no bitcode files among the inputs ({} other files skipped)",
            expanded.skipped.len()
        )));
    }
    let outputs = output_paths(&expanded.files, &options.output)?;
    // Planning from names alone is the fast way. It is kept only when it
    // succeeds: any failure, or a suffix it did not know, is run again the
    // full way, so what is written and every error message are those of a
    // plan made with the function bodies read.
    let fast = prepare(&expanded.files, &outputs, options, Planning::NamesOnly);
    let prepared = match fast {
        Ok(Some(p)) => p,
        Ok(None) | Err(_) => prepare(&expanded.files, &outputs, options, Planning::WithBodies)?
            .expect("a plan made with the bodies knows every suffix"),
    };
    prepared.finish(options, stdout)
}

/// A rename planned, rewritten and staged, not yet committed.
struct Prepared {
    outcome: RenameOutcome,
    batch: Batch,
    to_stdout: Option<Vec<u8>>,
    staged_files: usize,
}

impl Prepared {
    /// Stages the map and the plan, commits, writes standard output.
    fn finish(self, options: &RenameOptions, stdout: &mut dyn Write) -> Result<RenameOutcome> {
        let Prepared {
            outcome,
            batch,
            to_stdout,
            staged_files,
        } = self;
        if options.output == Output::Nowhere {
            return Ok(outcome);
        }
        // Each made only when asked for: the map of a large set is large.
        let extra: [(&Option<PathBuf>, &dyn Fn() -> String); 2] = [
            (&options.map_out, &|| outcome.map_json()),
            (&options.plan_out, &|| outcome.plan.to_manifest_json()),
        ];
        for (i, (path, text)) in extra.iter().enumerate() {
            if let Some(p) = path {
                if let Err(e) = batch.stage(staged_files + i, p, text().as_bytes(), None) {
                    batch.abort();
                    return Err(e);
                }
            }
        }
        batch.commit()?;
        if let Some(bytes) = to_stdout {
            stdout.write_all(&bytes)?;
        }
        Ok(outcome)
    }
}

/// Plans, rewrites and stages every file; `None` when a plan made from
/// names alone turned out not to know a suffix. On `None` or an error
/// nothing is left staged.
fn prepare(
    inputs: &[InputFile],
    outputs: &[Option<PathBuf>],
    options: &RenameOptions,
    planning: Planning,
) -> Result<Option<Prepared>> {
    let parse = match planning {
        Planning::NamesOnly => ParseOptions { local_names: None },
        Planning::WithBodies => scan::scan_parse_options(),
    };
    let files = scan::load_with_jobs(inputs, parse, options.jobs)?;
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
    let refs = scan::module_refs(&files);
    let plan = build::build(&refs, &prelink, &index, &options.plan)?;
    // From here on each file is read again when its turn comes, and its
    // parse is dropped once it is rewritten: bitcode is held for one file
    // per job, never for the set.
    drop(refs);
    let (files, parses): (Vec<FileHandle>, Vec<BitcodeFile>) =
        files.into_iter().map(LoadedFile::into_handle).unzip();

    // Replacing the inputs themselves must survive a crash; other outputs
    // are derived files (see `output`).
    let mut batch = Batch::new(options.output == Output::InPlace);
    if let Output::OutDir(dir) = &options.output {
        batch.set_new_directory(dir);
    }
    let progress = Progress::new(files.len(), options.progress && files.len() > 1);
    let work: Vec<(usize, BitcodeFile)> = parses.into_iter().enumerate().collect();
    let results = crate::parallel::map_owned(work, options.jobs, |(i, bitcode)| {
        let r = process(
            &files[i],
            bitcode,
            outputs[i].as_deref(),
            i,
            &plan,
            planning,
            options,
            &batch,
        );
        progress.tick();
        r
    });
    let files_len = files.len();
    let mut out_files = Vec::with_capacity(files_len);
    let mut to_stdout = None;
    let mut failure = None;
    let mut plan_incomplete = false;
    for (r, (f, output)) in results.into_iter().zip(files.into_iter().zip(outputs)) {
        match r {
            Ok(Processed::Done(rewritten, stdout_bytes)) => {
                to_stdout = to_stdout.or(stdout_bytes);
                out_files.push(FileResult {
                    input: f.input,
                    output: output.clone(),
                    changes: rewritten.changes,
                    warnings: rewritten.warnings,
                });
            }
            Ok(Processed::PlanIncomplete) => plan_incomplete = true,
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    if plan_incomplete {
        batch.abort();
        return Ok(None);
    }
    if let Some(e) = failure {
        batch.abort();
        return Err(e);
    }
    Ok(Some(Prepared {
        outcome: RenameOutcome {
            plan,
            files: out_files,
        },
        batch,
        to_stdout,
        staged_files: files_len,
    }))
}

/// What became of one file.
enum Processed {
    /// Rewritten (and staged), with the bytes for standard output for `-o -`.
    Done(Rewritten, Option<Vec<u8>>),
    /// Its function bodies name a suffix the plan never met.
    PlanIncomplete,
}

/// Reads one file again (its module-level parse is the one planned with),
/// rewrites it and stages its output.
#[allow(clippy::too_many_arguments)]
fn process(
    f: &FileHandle,
    mut bitcode: BitcodeFile,
    output: Option<&Path>,
    order: usize,
    plan: &Plan,
    planning: Planning,
    options: &RenameOptions,
    batch: &Batch,
) -> Result<Processed> {
    let data = f.reread()?;
    if planning == Planning::NamesOnly {
        let keep = scan::scan_parse_options()
            .local_names
            .expect("scan reads local names");
        bitcode
            .read_function_bodies(&data, keep)
            .map_err(|e| e.in_file(&f.input.display))?;
        for m in &bitcode.modules {
            let allow_asm = options.plan.allow_asm_references;
            if !plan.check_bodies(&f.input.display, m, allow_asm)? {
                return Ok(Processed::PlanIncomplete);
            }
        }
    }
    let mut rewritten = rewrite_one(&f.input.display, &bitcode, &data, plan, options.engine)
        .map_err(|e| e.in_file(&f.input.display))?;
    let bytes = rewritten.bytes.take();
    let src = match &f.input.source {
        Source::File(p) => Some(p.as_path()),
        Source::Stdin => None,
    };
    let staged = match (&options.output, output) {
        (Output::Stdout, _) => return Ok(Processed::Done(rewritten, Some(bytes.unwrap_or(data)))),
        // In place, an unchanged file stays as it is.
        (Output::InPlace, Some(dest)) => match &bytes {
            Some(b) => batch.stage(order, dest, b, Some(dest)),
            None => Ok(()),
        },
        (_, Some(dest)) => batch.stage(order, dest, bytes.as_deref().unwrap_or(&data), src),
        (_, None) => Ok(()),
    };
    staged.map_err(|e| e.in_file(&f.input.display))?;
    Ok(Processed::Done(rewritten, None))
}
