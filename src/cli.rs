//! The command line: one clap definition drives parsing, `--help` and the
//! man pages in `man/` (a test fails when they are stale).

use std::io::Write;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::error::{Error, ErrorKind, Result};

/// Rename symbols inside LLVM bitcode.
///
/// ThinLTO renames `static` functions and variables that other modules need
/// to `name.llvm.<hash>`, the hash taken from the owner module's bitcode, so
/// the names change with every unrelated edit or build directory. bcrename
/// finds every such name across a set of bitcode modules and rewrites the
/// suffix by a stable policy, or applies objcopy-style renames.
///
/// Exit status: 0 success; 1 `rename --check` found work or `diff` found
/// differences; 2 error.
#[derive(Debug, Parser)]
#[command(name = "bcrename", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Scan(ScanArgs),
    Rename(RenameArgs),
    Diff(DiffArgs),
    Verify(VerifyArgs),
    Dump(DumpArgs),
}

/// Where owners of suffixes may be found besides the inputs.
#[derive(Debug, Args, Clone, Default)]
pub struct ResolutionArgs {
    /// ThinLTO pre-link bitcode (file or directory): its module HASH gives
    /// the suffix, its source_filename the source file. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub prelink: Vec<String>,
    /// ThinLTO index (`*.thinlto.bc` or combined): maps suffixes to module
    /// paths, which are read like --prelink when they exist (relative to the
    /// index file's directory, then the current directory). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub index: Vec<String>,
}

/// Report promoted names, their definitions, references and owners.
///
/// Lists, per module, the globals whose names carry a ThinLTO promotion
/// suffix (`.llvm.<digits>`), whether each is defined or referenced, how many
/// function-local names carry one, who owns each suffix and how that was
/// found, and problems such as unresolved suffixes or promoted names in
/// module asm.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Print JSON (sorted and byte-stable) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// List every global, not only promoted ones.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub resolution: ResolutionArgs,
    /// Bitcode files, directories (searched recursively for bitcode), or
    /// @FILE response files; - for standard input.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<String>,
}

/// How new suffixes are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Policy {
    /// The owner's source_filename, bytes outside [A-Za-z0-9] replaced by
    /// `_`, as LLVM's -use-source-filename-for-promoted-locals does.
    SourceFilename,
    /// Like source-filename, after rewriting the file name with --prefix-map.
    PrefixMap,
}

/// The renaming engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// bcrename's own bitstream rewriter; keeps the input's bitcode version.
    Native,
    /// Through the LLVM 19 C API (needs the `llvm` build feature).
    Llvm,
}

/// Rename policies and explicit renames.
#[derive(Debug, Args, Clone, Default)]
pub struct PolicyArgs {
    /// How to choose new suffixes.
    #[arg(long, value_enum)]
    pub policy: Option<Policy>,
    /// OLD=NEW source path prefix map for --policy prefix-map (split at the
    /// last `=`; the last matching map wins). Repeatable.
    #[arg(long, value_name = "OLD=NEW")]
    pub prefix_map: Vec<String>,
    /// Also rewrite each module's source_filename (and the symbol table's
    /// copy) with the prefix maps; needs --policy prefix-map. With
    /// -ffile-prefix-map at compile time, this makes builds from different
    /// directories byte-identical.
    #[arg(long)]
    pub remap_source_filename: bool,
    /// JSON manifest of suffix and symbol renames.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<String>,
    /// Rename symbol OLD to NEW (objcopy semantics). Repeatable.
    #[arg(long, value_name = "OLD=NEW")]
    pub redefine_sym: Vec<String>,
    /// File of `old new` pairs, one per line, `#` comments (objcopy format).
    #[arg(long, value_name = "FILE")]
    pub redefine_syms: Vec<String>,
}

/// Rewrite promoted names (and explicit renames) in a set of modules.
///
/// When standard error is a terminal and there is more than one input file,
/// it shows how many files are done (`bcrename: 120/800 files`), the line
/// rewritten at most five times a second and ended when all are done.
#[derive(Debug, Args)]
pub struct RenameArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub resolution: ResolutionArgs,
    /// Leave names with unresolved suffixes alone instead of failing.
    #[arg(long)]
    pub keep_unresolved: bool,
    /// Allow renames that module inline asm may still reference.
    #[arg(long)]
    pub allow_asm_references: bool,
    /// Output file (exactly one input); - for standard output.
    #[arg(short = 'o', value_name = "FILE")]
    pub output: Option<String>,
    /// Write outputs under DIR, keeping paths relative to directory inputs.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<String>,
    /// Replace the inputs, only after every output was written and checked.
    #[arg(long)]
    pub in_place: bool,
    /// Write every rename as JSON.
    #[arg(long, value_name = "FILE")]
    pub map_out: Option<String>,
    /// Write the resolved plan as a manifest.
    #[arg(long, value_name = "FILE")]
    pub plan_out: Option<String>,
    /// Plan and check, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Exit 1 if any name would change, 0 if none; write nothing.
    #[arg(long)]
    pub check: bool,
    /// Parallel jobs (default: all cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Renaming engine.
    #[arg(long, value_enum, default_value_t = Engine::Native)]
    pub engine: Engine,
    /// Also list suffixes and symbols left alone, and say how the plan was
    /// made (from module summaries, how many from symbol tables and how
    /// many bytes their reading took; or from every name of the set, and
    /// why).
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Bitcode files, directories, or @FILE response files.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<String>,
}

/// Compare two builds after canonicalising names (reproducible builds).
///
/// LEFT and RIGHT are two files, or two directories whose bitcode files are
/// paired by relative path. Each side is renamed in memory with the given
/// policy, as a set of its own, and compared byte for byte. A pair is
/// identical, equivalent (equal once canonical: names or the source file
/// name differed) or different (the first differing block is named).
/// Nothing is written. Exit 0 when all pairs are identical or equivalent
/// and none is unpaired, 1 otherwise, 2 on error.
#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Left file or directory.
    pub left: String,
    /// Right file or directory.
    pub right: String,
}

/// Check that a rewritten module equals the original but for the renames.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The module before renaming.
    pub original: String,
    /// The module after renaming.
    pub rewritten: String,
    /// The rename map written by `rename --map-out`.
    #[arg(long, value_name = "FILE")]
    pub map: Option<String>,
}

/// Print every block and record of a bitcode file (like llvm-bcanalyzer -dump).
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Also print abbreviation definitions.
    #[arg(long)]
    pub abbrevs: bool,
    /// Bitcode file; - for standard input.
    pub input: String,
}

/// The clap command, for the man page generator and tests.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs a parsed command line, writing to `out`. Returns the exit status.
///
/// # Errors
/// Any failure; the caller prints it and exits 2.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<i32> {
    match cli.command {
        Command::Scan(a) => {
            let options = crate::scan::ScanOptions {
                all: a.all,
                prelink: a.resolution.prelink,
                index: a.resolution.index,
            };
            let report = crate::scan::scan(&a.inputs, &options)?;
            let text = if a.json {
                report.to_json()
            } else {
                report.to_text()
            };
            out.write_all(text.as_bytes())?;
            Ok(0)
        }
        Command::Dump(a) => {
            let input = crate::input::expand(std::slice::from_ref(&a.input))?;
            let [file] = input.files.as_slice() else {
                return Err(Error::new(
                    ErrorKind::Usage,
                    "dump takes exactly one bitcode file",
                ));
            };
            let data = file.read()?;
            let options = crate::bitstream::dump::DumpOptions { abbrevs: a.abbrevs };
            let text =
                crate::bitstream::dump::dump(&data, crate::bitcode::codes::block_name, options)
                    .map_err(|e| e.in_file(&file.display))?;
            out.write_all(text.as_bytes())?;
            Ok(0)
        }
        Command::Rename(a) => run_rename(a, out),
        Command::Diff(a) => {
            let plan = policy_options(&a.policy, false)?;
            let report =
                crate::diff::diff(&a.left, &a.right, &plan, crate::parallel::default_jobs())?;
            let text = if a.json {
                report.to_json()
            } else {
                report.to_text()
            };
            out.write_all(text.as_bytes())?;
            Ok(if report.same() { 0 } else { 1 })
        }
        Command::Verify(a) => run_verify(a, out),
    }
}

/// The plan options of a policy group. `require` makes "nothing to
/// rename" an error (for `rename`; `diff` may compare raw bytes).
fn policy_options(p: &PolicyArgs, require: bool) -> Result<crate::plan::PlanOptions> {
    use crate::plan::policy::{self, Manifest, PrefixMap, SuffixPolicy};
    let policy = match p.policy {
        None if !p.prefix_map.is_empty() => {
            return Err(Error::new(
                ErrorKind::Usage,
                "--prefix-map needs --policy prefix-map",
            ));
        }
        None => None,
        Some(Policy::SourceFilename) if !p.prefix_map.is_empty() => {
            return Err(Error::new(
                ErrorKind::Usage,
                "--prefix-map needs --policy prefix-map, not source-filename",
            ));
        }
        Some(Policy::SourceFilename) => Some(SuffixPolicy::SourceFilename),
        Some(Policy::PrefixMap) if p.prefix_map.is_empty() => {
            return Err(Error::new(
                ErrorKind::Usage,
                "--policy prefix-map needs at least one --prefix-map OLD=NEW",
            ));
        }
        Some(Policy::PrefixMap) => Some(SuffixPolicy::PrefixMap(
            p.prefix_map
                .iter()
                .map(|m| PrefixMap::parse(m))
                .collect::<Result<_>>()?,
        )),
    };
    let remap_source_filename = match (&policy, p.remap_source_filename) {
        (Some(SuffixPolicy::PrefixMap(maps)), true) => Some(maps.clone()),
        (_, true) => {
            return Err(Error::new(
                ErrorKind::Usage,
                "--remap-source-filename needs --policy prefix-map",
            ));
        }
        (_, false) => None,
    };
    let manifest = match &p.manifest {
        Some(file) => {
            let text = std::fs::read(file)
                .map_err(|e| Error::new(ErrorKind::Io, format!("{file}: {e}")))?;
            Some(Manifest::parse(&text, file)?)
        }
        None => None,
    };
    let mut redefines = p
        .redefine_sym
        .iter()
        .map(|a| policy::parse_redefine_sym(a))
        .collect::<Result<Vec<_>>>()?;
    for file in &p.redefine_syms {
        let text =
            std::fs::read(file).map_err(|e| Error::new(ErrorKind::Io, format!("{file}: {e}")))?;
        redefines.extend(policy::parse_redefine_syms(&text, file)?);
    }
    let redefines = policy::check_redefines(&redefines)?;
    if require && policy.is_none() && manifest.is_none() && redefines.is_empty() {
        return Err(Error::new(
            ErrorKind::Usage,
            "nothing to rename: give --policy, --manifest, --redefine-sym or --redefine-syms",
        ));
    }
    Ok(crate::plan::PlanOptions {
        policy,
        manifest,
        redefines,
        remap_source_filename,
        ..Default::default()
    })
}

fn run_rename(a: RenameArgs, out: &mut dyn Write) -> Result<i32> {
    use std::io::IsTerminal;

    use crate::rename::{self, Output, RenameOptions};
    let mut plan = policy_options(&a.policy, true)?;
    plan.keep_unresolved = a.keep_unresolved;
    plan.allow_asm_references = a.allow_asm_references;
    let chosen = [a.output.is_some(), a.out_dir.is_some(), a.in_place]
        .iter()
        .filter(|&&b| b)
        .count();
    if chosen > 1 {
        return Err(Error::new(
            ErrorKind::Usage,
            "-o, --out-dir and --in-place exclude each other",
        ));
    }
    let output = if a.dry_run || a.check {
        Output::Nowhere
    } else if let Some(o) = &a.output {
        if o == "-" {
            if std::io::stdout().is_terminal() {
                return Err(Error::new(
                    ErrorKind::Usage,
                    "refusing to write bitcode to a terminal (redirect -o - or name a file)",
                ));
            }
            Output::Stdout
        } else {
            Output::File(o.into())
        }
    } else if let Some(d) = &a.out_dir {
        Output::OutDir(d.into())
    } else if a.in_place {
        Output::InPlace
    } else {
        return Err(Error::new(
            ErrorKind::Usage,
            "say where to write: -o FILE, --out-dir DIR or --in-place (or --dry-run / --check)",
        ));
    };
    if a.jobs == Some(0) {
        return Err(Error::new(ErrorKind::Usage, "--jobs must be at least 1"));
    }
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let record_changes = a.map_out.is_some() || a.verbose || a.dry_run;
    let options = RenameOptions {
        plan,
        prelink: a.resolution.prelink,
        index: a.resolution.index,
        output,
        map_out: a.map_out.filter(|_| !a.check).map(Into::into),
        plan_out: a.plan_out.filter(|_| !a.check).map(Into::into),
        jobs,
        progress: std::io::stderr().is_terminal(),
        record_changes,
        exact_plan: false,
        engine: match a.engine {
            Engine::Native => rename::EngineKind::Native,
            Engine::Llvm => rename::EngineKind::Llvm,
        },
    };
    let outcome = rename::run(&a.inputs, &options, out)?;
    let mut err = std::io::stderr().lock();
    for f in &outcome.files {
        for w in &f.warnings {
            let _ = writeln!(err, "bcrename: warning: {}: {w}", f.input.display);
        }
    }
    if a.verbose {
        let _ = match outcome.planned_exactly {
            None => {
                let how = (outcome.first_pass.as_ref()).map_or(String::new(), first_pass);
                writeln!(err, "bcrename: planned from module summaries{how}")
            }
            Some(why) => writeln!(err, "bcrename: planned from every name of the set: {why}"),
        };
    }
    if a.verbose || a.dry_run {
        let text = describe(&outcome, a.dry_run);
        if a.dry_run {
            out.write_all(text.as_bytes())?;
        } else {
            let _ = err.write_all(text.as_bytes());
        }
    }
    if a.check {
        let n = outcome.change_count();
        if n > 0 {
            let _ = writeln!(
                err,
                "bcrename: {n} name(s) in {} file(s) would change",
                outcome.changed_files()
            );
            return Ok(1);
        }
    }
    Ok(0)
}

/// How the summaries were read, for --verbose: ": 3 file(s), 2 from their
/// symbol tables; read 1200 of 3000 bytes (40%)".
fn first_pass(p: &crate::rename::FirstPass) -> String {
    let share = (p.bytes_read * 100).checked_div(p.bytes).unwrap_or(100);
    format!(
        ": {} file(s), {} from their symbol tables; read {} of {} bytes ({share}%)",
        p.files, p.from_symbol_tables, p.bytes_read, p.bytes
    )
}

/// The plan and its effect, for --verbose and --dry-run.
fn describe(o: &crate::rename::RenameOutcome, dry_run: bool) -> String {
    use std::fmt::Write as _;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut s = String::new();
    for owner in &o.plan.owners {
        let by = serde_json::to_value(owner.resolved_by)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        match o.plan.suffixes.get(owner.suffix.as_bytes()) {
            Some(new) => {
                let _ = writeln!(
                    s,
                    "suffix .llvm.{} -> .llvm.{}  (owner {}, by {by})",
                    owner.suffix,
                    text(new),
                    owner.owner.as_deref().unwrap_or("none")
                );
            }
            None => {
                let _ = writeln!(s, "suffix .llvm.{} left alone", owner.suffix);
            }
        }
    }
    for (old, new) in &o.plan.unmatched {
        let _ = writeln!(s, "symbol {} -> {} matches no symbol", text(old), text(new));
    }
    let mut files: Vec<&crate::rename::FileResult> = o.files.iter().collect();
    files.sort_by(|a, b| a.input.display.as_bytes().cmp(b.input.display.as_bytes()));
    for f in files {
        for c in &f.changes {
            let _ = writeln!(
                s,
                "{}: {} {} -> {}",
                f.input.display,
                c.kind.as_str(),
                text(&c.old),
                text(&c.new)
            );
        }
    }
    let _ = writeln!(
        s,
        "{} name(s) {} in {} of {} file(s)",
        o.change_count(),
        if dry_run { "to rename" } else { "renamed" },
        o.changed_files(),
        o.files.len()
    );
    s
}

#[cfg(feature = "llvm")]
fn run_verify(a: VerifyArgs, out: &mut dyn Write) -> Result<i32> {
    let v = crate::verify::verify(
        std::path::Path::new(&a.original),
        std::path::Path::new(&a.rewritten),
        a.map.as_deref().map(std::path::Path::new),
    )?;
    match v.difference {
        None => {
            let how = if v.inferred { "inferred" } else { "in the map" };
            writeln!(
                out,
                "equal: {} is {} with only names changed ({} rename(s) {how})",
                a.rewritten, a.original, v.renames
            )?;
            Ok(0)
        }
        Some(d) => {
            writeln!(out, "different: {d}")?;
            Ok(1)
        }
    }
}

#[cfg(not(feature = "llvm"))]
fn run_verify(_: VerifyArgs, _: &mut dyn Write) -> Result<i32> {
    Err(Error::new(
        ErrorKind::Usage,
        "`bcrename verify` needs LLVM: this bcrename was built without the `llvm` feature (cargo build --features llvm)",
    ))
}
