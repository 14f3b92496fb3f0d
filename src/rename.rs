//! The `rename` command: read the set, plan, check, rewrite, write.
//!
//! Every usage error is found before anything is written (the files
//! found under directories are told from other files as they are first
//! read, so the output paths are checked after that read); every plan
//! error before any output is put in place (a plan from summaries finds
//! name collisions while it stages outputs as temporaries, which are
//! removed when it goes back to plan the exact way, where every plan error
//! comes before staging). The set-wide part (the plan)
//! needs little of each module: its source file name and the promotion
//! suffixes its names carry (counted into [`Mentions`]), which the file's
//! symbol table tells without the module being decoded. So each file is
//! read once to plan, counted and dropped; it is then read again, parsed,
//! checked (against its summary too, when that came from its symbol
//! table), rewritten and staged on its own, so memory holds one file per
//! job, not the set, and the name checks keep a fingerprint per distinct
//! name. A check the summaries cannot decide sends the run back to plan
//! the exact way, from every name of the set. A file that changed between
//! the two reads is an error. Each file is left open between the two
//! reads (as many as the limit on open files allows; not with
//! `--in-place`), and read again through that: the file read, even if
//! another is renamed to its path in between. With `--in-place`, it is
//! opened again by path, so such a file is refused as changed rather than
//! replaced. Outputs are written as a [`Batch`]: all or nothing.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::bitcode::rewrite::{self, Change, Rewritten};
use crate::bitcode::symtab_names::{self, SymtabNames};
use crate::bitcode::{BitcodeFile, ParseOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::input::{self, FirstRead, InputFile, Source};
use crate::output::Batch;
use crate::parallel::Gather;
use crate::plan::build::{self, Mentions, Plan, PlanOptions};
use crate::plan::names;
use crate::plan::{NameCheck, NameFacts};
use crate::scan::{self, FileHandle};

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
    /// Keep every rename made ([`FileResult::changes`], for the map and
    /// listings); without it only their number is kept, so memory does not
    /// grow with the set.
    pub record_changes: bool,
    /// Plan the exact way from the start, as a plan from summaries falls
    /// back to (every name of the set held in memory): for comparing the
    /// two ways.
    pub exact_plan: bool,
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
    /// Every rename made in the file, sorted, if [`RenameOptions::record_changes`].
    pub changes: Vec<Change>,
    /// How many renames were made in the file.
    pub renamed: usize,
    pub warnings: Vec<String>,
}

/// What a rename did (or, with nowhere to write, would do).
#[derive(Debug)]
pub struct RenameOutcome {
    pub plan: Plan,
    pub files: Vec<FileResult>,
    /// Why the plan was made the exact way (from every name of the set,
    /// held in memory) rather than from module summaries; `None` when the
    /// summaries sufficed.
    pub planned_exactly: Option<&'static str>,
    /// How the summaries were read, when they sufficed.
    pub first_pass: Option<FirstPass>,
}

/// How the first pass of a plan made from summaries read the set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FirstPass {
    /// The bitcode files read.
    pub files: usize,
    /// Those summarised from their symbol tables (the others from their
    /// modules' records, read whole).
    pub from_symbol_tables: usize,
    /// The bytes the first pass read: a file summarised from its symbol
    /// table is read without its module block's body where that leaves
    /// out enough ([`crate::input::Reading::leave_out`]).
    pub bytes_read: u64,
    /// The bytes of the files read.
    pub bytes: u64,
}

impl RenameOutcome {
    /// Number of names changed over all files.
    pub fn change_count(&self) -> usize {
        self.files.iter().map(|f| f.renamed).sum()
    }

    /// Files that change.
    pub fn changed_files(&self) -> usize {
        self.files.iter().filter(|f| f.renamed > 0).count()
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

/// Where each input goes, checked for collisions.
fn output_paths(files: &[&InputFile], output: &Output) -> Result<Vec<Option<PathBuf>>> {
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
    // (Hashed: a path compares by its components, which is slow to do
    // a dozen times a file.)
    let mut seen: HashMap<PathBuf, &str> = HashMap::with_capacity(files.len());
    let mut paths_of = Normaliser::default();
    for (f, p) in files.iter().zip(&paths) {
        let Some(p) = p else { continue };
        let key = paths_of.normalise(p);
        if let Some(prev) = seen.insert(key.clone(), &f.display) {
            return Err(usage(format!(
                "{} and {} would both be written to {}",
                prev,
                f.display,
                p.display()
            )));
        }
        // An output in a directory that does not exist yet is no input.
        if *output != Output::InPlace && paths_of.dir_exists(p) {
            if let Source::File(src) = &f.source {
                if paths_of.normalise(src) == key {
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

/// Absolute, symlink-resolved forms of paths that may not exist yet, with
/// each directory resolved once (a set of thousands of files in a few
/// directories costs one `lstat` a file, not a `realpath` walk).
#[derive(Default)]
struct Normaliser {
    dirs: HashMap<PathBuf, Option<PathBuf>>,
}

impl Normaliser {
    /// What `fs::canonicalize(p)` gives when `p` exists, else `p`'s
    /// resolved directory joined with its name, else `p`.
    fn normalise(&mut self, p: &Path) -> PathBuf {
        let name = p.file_name();
        // Nothing exists in a directory that does not: `p` stays as it is.
        let Some(dir) = self.dir(p) else {
            return p.to_path_buf();
        };
        // A last component that is a symbolic link (or `..`) is resolved
        // with the path.
        let link = fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
        if link || name.is_none() {
            if let Ok(c) = fs::canonicalize(p) {
                return c;
            }
        }
        match name {
            Some(n) => dir.join(n),
            None => p.to_path_buf(),
        }
    }

    /// True if the directory `p` would be in exists.
    fn dir_exists(&mut self, p: &Path) -> bool {
        self.dir(p).is_some()
    }

    /// The resolved directory of `p`, resolved once per directory.
    fn dir(&mut self, p: &Path) -> Option<&Path> {
        let parent = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !self.dirs.contains_key(parent) {
            let resolved = fs::canonicalize(parent).ok();
            self.dirs.insert(parent.to_path_buf(), resolved);
        }
        self.dirs[parent].as_deref()
    }
}

/// How often, at most, [`Progress`] rewrites its line.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// Reports on standard error (for a run on a terminal) how many files have
/// been rewritten: one line, `bcrename: 120/800 files`, rewritten in place
/// at most every [`PROGRESS_EVERY`] and ended, with the count of all, when
/// the last file is done. Counts shown only grow, whichever thread ticks.
/// A line left open when the progress is dropped before its last file
/// is ended then, so that what follows starts a line of its own.
struct Progress {
    total: usize,
    done: std::sync::atomic::AtomicUsize,
    every: Duration,
    /// `None` when progress is not shown.
    line: Option<std::sync::Mutex<ProgressLine>>,
}

struct ProgressLine {
    to: Box<dyn Write + Send>,
    last: Instant,
    /// A count has been shown.
    shown: bool,
    ended: bool,
}

impl Progress {
    fn new(total: usize, enabled: bool) -> Self {
        let to = enabled.then(|| Box::new(std::io::stderr()) as Box<dyn Write + Send>);
        Progress::to(total, to, PROGRESS_EVERY)
    }

    /// Progress of `total` files written to `to` (none shown if `None`),
    /// its line rewritten at most every `every`.
    fn to(total: usize, to: Option<Box<dyn Write + Send>>, every: Duration) -> Self {
        Progress {
            total,
            done: 0.into(),
            every,
            line: to.map(|to| {
                std::sync::Mutex::new(ProgressLine {
                    to,
                    last: Instant::now(),
                    shown: false,
                    ended: false,
                })
            }),
        }
    }

    /// One more file done.
    fn tick(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        self.done.fetch_add(1, Relaxed);
        let Some(line) = &self.line else { return };
        let mut line = line.lock().unwrap_or_else(|e| e.into_inner());
        // (Read under the lock, so that a count shown is never below one
        // shown before it.)
        let done = self.done.load(Relaxed);
        let all = done >= self.total;
        if line.ended || !(all || line.last.elapsed() >= self.every) {
            return;
        }
        line.last = Instant::now();
        line.shown = true;
        line.ended = all;
        // (Progress is no output: a failure to show it is ignored.)
        let _ = write!(line.to, "\rbcrename: {done}/{} files", self.total);
        if all {
            let _ = writeln!(line.to);
        }
        let _ = line.to.flush();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        let Some(line) = &self.line else { return };
        let mut line = line.lock().unwrap_or_else(|e| e.into_inner());
        if line.shown && !line.ended {
            let _ = writeln!(line.to);
            let _ = line.to.flush();
        }
    }
}

/// How the plan is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Planning {
    /// From summaries of the module-level names ([`ModuleSummary`]), read
    /// from each file's symbol table where it has a usable one, else from
    /// its module's records: no function body is read to plan and no
    /// module is held. The checks that need names are made as each file is
    /// rewritten ([`symtab_names::agrees`], [`Plan::check_bodies`],
    /// [`NameFacts`]); when one cannot decide (a symbol table that does not
    /// list what its module holds, a local name with a suffix no global of
    /// the set carries, a possible collision, a possibly stale asm
    /// reference) the run goes back to plan the exact way.
    Summaries,
    /// From every name of the set, function-local ones included, and every
    /// asm text, held in memory until the set is rewritten.
    Exact,
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
    // Planning from summaries is the fast way, in memory bounded by a file
    // per job. It is kept only when it succeeds: any failure, or a check it
    // cannot decide, is run again the exact way, so what is written and
    // every error message are those of the exact way.
    let undecided = if options.exact_plan {
        "asked for"
    } else {
        match from_summaries(inputs, options)? {
            Attempt::Done(p) => return p.finish(options, stdout),
            Attempt::Undecided(why) => why,
        }
    };
    let expanded = input::expand_with_jobs(inputs, options.jobs)?;
    let files: Vec<&InputFile> = expanded.files.iter().collect();
    let outputs = checked_outputs(&files, expanded.skipped.len(), &options.output)?;
    let planned = plan_exactly(&expanded.files, options)?;
    match rewrite_set(planned, &outputs, options, Planning::Exact)? {
        Attempt::Done(mut p) => {
            p.outcome.planned_exactly = Some(undecided);
            p.finish(options, stdout)
        }
        Attempt::Undecided(why) => unreachable!("the exact plan decides every check ({why})"),
    }
}

/// The fast way: the inputs listed, each read once (the files found under
/// directories looked at as they are read, not before), summarised and
/// planned, then rewritten and staged, unless a check cannot be decided.
/// A usage error is final (the exact way finds the same); any other
/// failure leaves the run undecided, to be made again the exact way,
/// which reports it.
fn from_summaries(inputs: &[String], options: &RenameOptions) -> Result<Attempt> {
    const FAILED: &str = "a check failed, and is made again to be reported exactly";
    let listed = input::list(inputs)?;
    let Ok((planned, not_bitcode)) = plan_from_summaries(&listed.files, options) else {
        return Ok(Attempt::Undecided(FAILED));
    };
    let files: Vec<&InputFile> = planned.files.iter().map(|(f, _)| &f.input).collect();
    let skipped = listed.skipped.len() + not_bitcode;
    let outputs = checked_outputs(&files, skipped, &options.output)?;
    Ok(rewrite_set(planned, &outputs, options, Planning::Summaries)
        .unwrap_or(Attempt::Undecided(FAILED)))
}

/// Where each of `files` (the bitcode among the inputs, `skipped` others
/// left out) goes, checked for collisions: usage errors, found before
/// anything is written.
fn checked_outputs(
    files: &[&InputFile],
    skipped: usize,
    output: &Output,
) -> Result<Vec<Option<PathBuf>>> {
    if files.is_empty() {
        return Err(usage(format!(
            "no bitcode files among the inputs ({skipped} other files skipped)"
        )));
    }
    output_paths(files, output)
}

/// What came of one way of planning.
enum Attempt {
    Done(Box<Prepared>),
    /// A plan made from summaries met a check it cannot decide (why).
    Undecided(&'static str),
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

fn not_an_index(input: &InputFile, bitcode: &BitcodeFile) -> Result<()> {
    if scan::is_index_only(bitcode) {
        return Err(usage(scan::index_input_message(&input.display)));
    }
    Ok(())
}

/// A set read and planned.
struct PlannedSet {
    /// Each file to rewrite, with what the plan knows of it.
    files: Vec<(FileHandle, Known)>,
    plan: Plan,
    /// How the set was read, for a plan made from summaries.
    first_pass: Option<FirstPass>,
}

/// What the plan was made from, of one file.
enum Known {
    /// Its parse, every name in it (exact planning).
    Parsed(BitcodeFile),
    /// A summary of its module-level records.
    Summarised,
    /// A summary of its symbol table, which the file's records must bear
    /// out when it is parsed to be rewritten ([`symtab_names::agrees`]).
    SummarisedFromSymtab,
}

/// Whether inputs stay open between the two reads: not when they are
/// replaced, where one replaced by another program in between must be
/// found changed (read again by path), not read through the old file
/// and then overwritten.
fn keeps_inputs_open(output: &Output) -> bool {
    *output != Output::InPlace
}

/// Reads the set and makes its plan from summaries: each file found
/// under a directory is read only if it is bitcode. Also gives how many
/// were not.
fn plan_from_summaries(
    inputs: &[InputFile],
    options: &RenameOptions,
) -> Result<(PlannedSet, usize)> {
    // Summaries need a file's symbol table, or else its modules' records;
    // the full parse of each file when it is rewritten reads (and checks)
    // the rest.
    let names_only = ParseOptions {
        local_names: None,
        skip_symbol_tables: true,
        ..ParseOptions::default()
    };
    // Each module's names are counted for the plan as soon as it is read,
    // by the thread that read it, into mentions of that thread's own
    // (merged once the threads are done).
    // A file's symbol table is read without its module block's body (the
    // most of it, with the function bodies), which is read only if the
    // table is not enough.
    let reading = input::Reading {
        sniff: true,
        keep_open: keeps_inputs_open(&options.output),
        leave_out: Some(symtab_names::not_looked_at),
    };
    let count = |mentions: &mut Mentions, input: &InputFile, first: &mut FirstRead| {
        let path = &input.display;
        if let Some(names) = SymtabNames::read(&first.data) {
            mentions.add_names(path, Some(names.source_filename), names.names());
            return Ok(Known::SummarisedFromSymtab);
        }
        let data = first.whole().map_err(|e| input.read_error(e))?;
        let bitcode = BitcodeFile::parse(data, names_only).map_err(|e| e.in_file(path))?;
        not_an_index(input, &bitcode)?;
        for m in bitcode.modules.iter().filter(|m| !m.is_index()) {
            mentions.add_names(path, m.source_filename.as_deref(), build::module_names(m));
        }
        Ok(Known::Summarised)
    };
    let (read, counted) = scan::load_read(inputs, options.jobs, reading, Mentions::default, count)?;
    let not_bitcode = read.iter().filter(|f| f.is_none()).count();
    let files: Vec<(FileHandle, Known)> = read.into_iter().flatten().collect();
    let mut first_pass = FirstPass {
        files: files.len(),
        ..FirstPass::default()
    };
    for (f, known) in &files {
        let (read, bytes) = f.first_read_bytes();
        first_pass.bytes_read += read as u64;
        first_pass.bytes += bytes as u64;
        first_pass.from_symbol_tables += usize::from(matches!(known, Known::SummarisedFromSymtab));
    }
    let prelink = scan::load_prelink(&options.prelink)?;
    let index = scan::load_index(&options.index)?;
    let mentions = counted
        .into_iter()
        .reduce(Mentions::merge)
        .unwrap_or_default();
    let plan = build::unchecked(mentions, &prelink, &index, &options.plan)?;
    let planned = PlannedSet {
        files,
        plan,
        first_pass: Some(first_pass),
    };
    Ok((planned, not_bitcode))
}

/// Reads the set and makes its plan from every name in it.
fn plan_exactly(inputs: &[InputFile], options: &RenameOptions) -> Result<PlannedSet> {
    let keep_open = keeps_inputs_open(&options.output);
    let files = scan::load_with_jobs(inputs, scan::scan_parse_options(), options.jobs, keep_open)?;
    for f in &files {
        not_an_index(&f.handle.input, &f.bitcode)?;
    }
    let prelink = scan::load_prelink(&options.prelink)?;
    let index = scan::load_index(&options.index)?;
    let refs = scan::module_refs(&files);
    let plan = build::build(&refs, &prelink, &index, &options.plan)?;
    drop(refs);
    let files = files
        .into_iter()
        .map(|f| (f.handle, Known::Parsed(f.bitcode)))
        .collect();
    Ok(PlannedSet {
        files,
        plan,
        first_pass: None,
    })
}

/// Rewrites and stages every file of a planned set, unless a plan made
/// from summaries meets a check it cannot decide. Unless it is done,
/// nothing is left staged.
fn rewrite_set(
    planned: PlannedSet,
    outputs: &[Option<PathBuf>],
    options: &RenameOptions,
    planning: Planning,
) -> Result<Attempt> {
    let PlannedSet {
        files,
        mut plan,
        first_pass,
    } = planned;
    // From here on each file is read again when its turn comes and dropped
    // once it is rewritten.
    let (files, known): (Vec<FileHandle>, Vec<Known>) = files.into_iter().unzip();

    // Replacing the inputs themselves must survive a crash; other outputs
    // are derived files (see `output`).
    let mut batch = Batch::new(options.output == Output::InPlace);
    if let Output::OutDir(dir) = &options.output {
        batch.set_new_directory(dir);
    }
    let progress = Progress::new(files.len(), options.progress && files.len() > 1);
    let work: Vec<(usize, Known)> = known.into_iter().enumerate().collect();
    // Each file's name facts join the check as soon as it is rewritten, so
    // they are held once for the set, not once per file.
    let names = Gather::new(NameCheck::default(), NameCheck::add);
    let results = crate::parallel::map_owned(work, options.jobs, |(i, known)| {
        let mut r = process(
            &files[i],
            known,
            outputs[i].as_deref(),
            i,
            &plan,
            options,
            &batch,
        );
        if let Ok(Processed::Done(done)) = &mut r {
            if let Some(facts) = done.facts.take() {
                names.add(facts);
            }
        }
        progress.tick();
        r
    });
    let names = names.into_inner();
    let files_len = files.len();
    let mut out_files = Vec::with_capacity(files_len);
    let mut to_stdout = None;
    let mut failure = None;
    let mut undecided = None;
    for (r, (f, output)) in results.into_iter().zip(files.into_iter().zip(outputs)) {
        match r {
            Ok(Processed::Done(done)) => {
                to_stdout = to_stdout.or(done.stdout);
                out_files.push(FileResult {
                    input: f.input,
                    output: output.clone(),
                    changes: done.changes,
                    renamed: done.renamed,
                    warnings: done.warnings,
                });
            }
            Ok(Processed::Undecided(why)) => {
                undecided.get_or_insert(why);
            }
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failure {
        batch.abort();
        return Err(e);
    }
    let undecided = undecided.or_else(|| {
        let unsure = planning == Planning::Summaries
            && !names.finish(&mut plan, options.plan.allow_asm_references);
        unsure.then_some("a possible name collision, or asm to be searched for a renamed name")
    });
    if let Some(why) = undecided {
        batch.abort();
        return Ok(Attempt::Undecided(why));
    }
    Ok(Attempt::Done(Box::new(Prepared {
        outcome: RenameOutcome {
            plan,
            files: out_files,
            planned_exactly: None,
            first_pass,
        },
        batch,
        to_stdout,
        staged_files: files_len,
    })))
}

/// What became of one file.
enum Processed {
    Done(Done),
    /// The plan from summaries cannot be trusted with it (why).
    Undecided(&'static str),
}

/// A file rewritten (and staged).
struct Done {
    /// The renames, if they are recorded.
    changes: Vec<Change>,
    renamed: usize,
    warnings: Vec<String>,
    /// The bytes for standard output, for `-o -`.
    stdout: Option<Vec<u8>>,
    /// For the name checks of a plan made from summaries.
    facts: Option<NameFacts>,
}

/// Reads one file again, parses it unless its parse is at hand (from
/// exact planning), rewrites it and stages its output. A file parsed here
/// is checked against the plan as [`Planning::Summaries`] describes.
fn process(
    f: &FileHandle,
    known: Known,
    output: Option<&Path>,
    order: usize,
    plan: &Plan,
    options: &RenameOptions,
    batch: &Batch,
) -> Result<Processed> {
    let mut data = f.reread()?;
    let in_file = |e: Error| e.in_file(&f.input.display);
    let from_symtab = matches!(known, Known::SummarisedFromSymtab);
    let (bitcode, summarized) = match known {
        Known::Parsed(b) => (b, false),
        Known::Summarised | Known::SummarisedFromSymtab => {
            let b = BitcodeFile::parse(&data, scan::scan_parse_options()).map_err(in_file)?;
            if from_symtab
                && !(b.modules.first()).is_some_and(|m| {
                    // A private name the table leaves out must not bring
                    // a suffix the summary lacks.
                    symtab_names::agrees(&b, &data, m, |n| !names::carries_suffix(n))
                })
            {
                return Ok(Processed::Undecided(
                    "a symbol table does not list what its module holds",
                ));
            }
            for m in b.modules.iter().filter(|m| !m.is_index()) {
                let allow_asm = options.plan.allow_asm_references;
                if !plan.check_bodies(&f.input.display, m, allow_asm)? {
                    return Ok(Processed::Undecided(
                        "a function-local name carries a suffix no global of the set carries",
                    ));
                }
            }
            (b, true)
        }
    };
    let mut rewritten =
        rewrite_one(&f.input.display, &bitcode, &data, plan, options.engine).map_err(in_file)?;
    let facts = summarized.then(|| {
        let mut facts = NameFacts::default();
        for (mi, m) in bitcode.modules.iter().enumerate() {
            if !m.is_index() {
                facts.add(plan, m, mi, &rewritten.changes);
            }
        }
        facts
    });
    drop(bitcode);
    let bytes = rewritten.bytes.take();
    // Outputs take the permissions of their inputs.
    let mode = f.permissions();
    let mut stdout = None;
    let staged = match (&options.output, output) {
        (Output::Stdout, _) => {
            stdout = Some(bytes.unwrap_or_else(|| std::mem::take(&mut data)));
            Ok(())
        }
        // In place, an unchanged file stays as it is.
        (Output::InPlace, Some(dest)) => match &bytes {
            Some(b) => batch.stage(order, dest, b, mode),
            None => Ok(()),
        },
        (_, Some(dest)) => batch.stage(order, dest, bytes.as_deref().unwrap_or(&data), mode),
        (_, None) => Ok(()),
    };
    crate::input::recycle(data);
    staged.map_err(in_file)?;
    let renamed = rewritten.changes.len();
    Ok(Processed::Done(Done {
        changes: if options.record_changes {
            let mut sorted = rewritten.changes.to_vec();
            sorted.sort_unstable();
            sorted
        } else {
            Vec::new()
        },
        renamed,
        warnings: rewritten.warnings,
        stdout,
        facts,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a [`Progress`] wrote, shared with the test.
    #[derive(Clone, Default)]
    struct Seen(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Seen {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Seen {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// The counts a progress line showed, in order, and whether it ended.
    fn shown(text: &str) -> (Vec<usize>, bool) {
        let ended = text.ends_with('\n');
        let counts = (text.trim_end_matches('\n').split('\r'))
            .filter(|l| !l.is_empty())
            .map(|l| {
                let count = l.strip_prefix("bcrename: ").unwrap();
                let (done, rest) = count.split_once('/').unwrap();
                assert!(rest.ends_with(" files"), "{l:?}");
                done.parse().unwrap()
            })
            .collect();
        (counts, ended)
    }

    /// The progress line: a count each time it is due, the last one (all
    /// files) always, and then an end of line; rewritten no more often
    /// than it is due; nothing when not shown.
    #[test]
    fn progress_shows_the_count_when_due_and_always_the_last() {
        let seen = Seen::default();
        let every_time = Progress::to(3, Some(Box::new(seen.clone())), Duration::ZERO);
        (0..3).for_each(|_| every_time.tick());
        let all = "\rbcrename: 1/3 files\rbcrename: 2/3 files\rbcrename: 3/3 files\n";
        assert_eq!(seen.text(), all);
        // A tick that comes late (its thread counted before the last file
        // but took the line after it) writes nothing past the end.
        every_time.tick();
        assert_eq!(seen.text(), all);

        let seen = Seen::default();
        let seldom = Progress::to(4, Some(Box::new(seen.clone())), Duration::from_secs(3600));
        (0..3).for_each(|_| seldom.tick());
        assert_eq!(seen.text(), "", "not due yet");
        seldom.tick();
        assert_eq!(seen.text(), "\rbcrename: 4/4 files\n");

        let hidden = Progress::to(2, None, Duration::ZERO);
        (0..2).for_each(|_| hidden.tick());
        assert_eq!(hidden.done.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    /// Progress dropped before its last file ends the line it showed, and
    /// leaves alone a line it never showed or already ended.
    #[test]
    fn progress_dropped_midway_ends_its_line() {
        let seen = Seen::default();
        let shown = Progress::to(3, Some(Box::new(seen.clone())), Duration::ZERO);
        (0..2).for_each(|_| shown.tick());
        drop(shown);
        assert_eq!(seen.text(), "\rbcrename: 1/3 files\rbcrename: 2/3 files\n");

        let seen = Seen::default();
        let unseen = Progress::to(3, Some(Box::new(seen.clone())), Duration::from_secs(3600));
        unseen.tick();
        drop(unseen);
        assert_eq!(seen.text(), "");

        let seen = Seen::default();
        let done = Progress::to(1, Some(Box::new(seen.clone())), Duration::ZERO);
        done.tick();
        drop(done);
        assert_eq!(seen.text(), "\rbcrename: 1/1 files\n");
    }

    /// Ticked from several threads at once, the line shows growing counts
    /// and ends once, with the count of all files, after which nothing is
    /// written.
    #[test]
    fn progress_from_many_threads_only_grows_and_ends_once() {
        let seen = Seen::default();
        let total = 4000;
        let progress = Progress::to(total, Some(Box::new(seen.clone())), Duration::ZERO);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| (0..total / 4).for_each(|_| progress.tick()));
            }
        });
        let text = seen.text();
        let (counts, ended) = shown(&text);
        assert!(ended && text.matches('\n').count() == 1, "{text:?}");
        assert_eq!(counts.last(), Some(&total));
        assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
        assert!(counts.len() > 1, "{counts:?}");
    }

    /// Inputs replaced in place are opened again by path for the second
    /// read (so one replaced in between is refused); other outputs leave
    /// them open.
    #[test]
    fn only_inputs_replaced_in_place_are_opened_again() {
        assert!(!keeps_inputs_open(&Output::InPlace));
        for other in [
            Output::OutDir("o".into()),
            Output::File("f".into()),
            Output::Stdout,
            Output::Nowhere,
        ] {
            assert!(keeps_inputs_open(&other), "{other:?}");
        }
    }

    /// What `Normaliser` must give: the path resolved as a whole when it
    /// exists, else its directory resolved and its name joined.
    fn resolved_one_by_one(p: &Path) -> PathBuf {
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

    #[cfg(unix)]
    #[test]
    fn normalised_paths_are_those_resolved_one_by_one() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        fs::create_dir_all(d.join("real/sub")).unwrap();
        fs::write(d.join("real/a.bc"), b"x").unwrap();
        std::os::unix::fs::symlink(d.join("real"), d.join("linkdir")).unwrap();
        std::os::unix::fs::symlink(d.join("real/a.bc"), d.join("real/to-a.bc")).unwrap();
        std::os::unix::fs::symlink(d.join("real/gone.bc"), d.join("real/dangling.bc")).unwrap();
        let paths = [
            "real/a.bc",
            "linkdir/a.bc",
            "real/to-a.bc",
            "linkdir/to-a.bc",
            "real/dangling.bc",
            "real/new.bc",
            "linkdir/new.bc",
            "real/sub/../a.bc",
            "real/sub/..",
            "real/.",
            "missing/new.bc",
            "missing/deeper/new.bc",
        ];
        let mut n = Normaliser::default();
        // Twice each, so that the second meets the resolved directory.
        for p in paths.iter().chain(&paths) {
            let p = d.join(p);
            assert_eq!(n.normalise(&p), resolved_one_by_one(&p), "{}", p.display());
        }
        let cwd_relative = Path::new("Cargo.toml");
        assert_eq!(n.normalise(cwd_relative), resolved_one_by_one(cwd_relative));
    }
}
