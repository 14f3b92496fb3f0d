//! The rename plan: from the names of a whole module set to a fully
//! resolved mapping (old suffix -> new suffix, old symbol -> new symbol),
//! checked before anything is written.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::names::{self, PromotedName};
use super::owners::{
    self, HashedModule, IndexedModule, Paths, Problem, ResolvedBy, SuffixMentions, SuffixOwner,
};
use super::policy::{show, Manifest, SuffixPolicy};
use crate::bitcode::rewrite::Renamer;
use crate::bitcode::symtab_names::SymtabNames;
use crate::bitcode::Module;
use crate::error::{Error, ErrorKind, Result};

/// A module of the set, by the path it is reported under.
#[derive(Clone, Copy)]
pub struct ModuleRef<'a> {
    pub path: &'a str,
    pub module: &'a Module,
}

/// Each input path's source file name.
pub type SourceFilenames = BTreeMap<String, Option<Vec<u8>>>;

/// What a plan needs of one module beyond its names: its path, its source
/// file name and each promotion suffix its names carry, once, with whether
/// it holds an owning definition of a name with that suffix. Small next to
/// the module, so a large set is planned from summaries without holding
/// its modules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSummary {
    pub path: String,
    pub source_filename: Option<Vec<u8>>,
    /// The suffixes' digits, one after another, in the order of `suffixes`.
    suffix_text: String,
    /// (end of the suffix in `suffix_text`, owned here), sorted by suffix.
    /// One buffer for all of a module's suffixes: a summary is made for
    /// every module, and counted ([`Mentions::add`]) and dropped.
    suffixes: Vec<(u32, bool)>,
}

/// Every name of `m` a summary counts, each with whether `m` holds an
/// owning definition of it: its globals', its comdats' (which define
/// nothing) and its function-local names (when `m` was parsed with them).
pub fn module_names(m: &Module) -> impl Iterator<Item = (&[u8], bool)> {
    let globals = (m.globals.iter()).map(|g| (&g.name[..], g.is_owning_definition()));
    let comdats = m.comdats.iter().map(|c| (&c.name[..], false));
    let locals = (m.functions.iter())
        .flat_map(|f| &f.local_names)
        .map(|l| (&l.name[..], false));
    globals.chain(comdats).chain(locals)
}

impl ModuleSummary {
    /// The summary of `m`, read from `path`. Function-local names count
    /// when `m` was parsed with them.
    pub fn of(path: &str, m: &Module) -> ModuleSummary {
        ModuleSummary::from_names(path, m.source_filename.as_deref(), module_names(m))
    }

    /// The summary of a module from its symbol table, read from `path`:
    /// what [`ModuleSummary::of`] gives for the module parsed without its
    /// function bodies, when the table agrees with the module and no
    /// private global (which the table may leave out) carries a promotion
    /// suffix ([`crate::bitcode::symtab_names::agrees`]).
    pub fn of_symtab(path: &str, names: &SymtabNames<'_>) -> ModuleSummary {
        ModuleSummary::from_names(path, Some(names.source_filename), names.names())
    }

    /// The summary of a module's names (`all`), each with whether the
    /// module holds an owning definition of it.
    fn from_names<'n>(
        path: &str,
        source_filename: Option<&[u8]>,
        all: impl Iterator<Item = (&'n [u8], bool)>,
    ) -> ModuleSummary {
        // By the suffix's bytes; each distinct one becomes text once.
        let mut here: FxHashMap<&'n [u8], bool> = FxHashMap::default();
        here.reserve(all.size_hint().0);
        for (name, owning) in all {
            if let Some(p) = PromotedName::parse(name) {
                *here.entry(p.suffix).or_insert(false) |= owning;
            }
        }
        let mut found: Vec<(&str, bool)> = here
            .into_iter()
            .map(|(s, o)| (names::suffix_text(s), o))
            .collect();
        found.sort_unstable();
        let mut suffix_text = String::with_capacity(found.iter().map(|(s, _)| s.len()).sum());
        let suffixes = found
            .into_iter()
            .map(|(s, o)| {
                suffix_text.push_str(s);
                (suffix_text.len() as u32, o)
            })
            .collect();
        ModuleSummary {
            path: path.to_string(),
            source_filename: source_filename.map(<[u8]>::to_vec),
            suffix_text,
            suffixes,
        }
    }

    /// Each promotion suffix the module's names carry, once, in order,
    /// with whether the module holds an owning definition of a name with it.
    pub fn suffixes(&self) -> impl Iterator<Item = (&str, bool)> + '_ {
        let mut start = 0;
        self.suffixes.iter().map(move |&(end, owning)| {
            let s = &self.suffix_text[start..end as usize];
            start = end as usize;
            (s, owning)
        })
    }
}

/// The summaries of `mods`, in order.
pub fn summaries(mods: &[ModuleRef<'_>]) -> Vec<ModuleSummary> {
    mods.iter()
        .map(|r| ModuleSummary::of(r.path, r.module))
        .collect()
}

/// The paths of a suffix's definers and of every module that mentions it.
#[derive(Debug, Default, Clone)]
struct PathLists {
    definers: Vec<Arc<str>>,
    mentioned_by: Paths,
    /// The number ([`Mentions::counted`]) of the last module counted that
    /// mentions the suffix, and of the last that defines it (0: none), so
    /// that a module counts once in each list however many of its names
    /// carry the suffix.
    mentioned_in: u64,
    defined_in: u64,
}

/// What the set says about each suffix, and each path's source file name,
/// gathered a module at a time ([`Mentions::add`], [`Mentions::add_names`]):
/// the modules can be counted as they are read, by the threads that read
/// them (each into mentions of its own, joined by [`Mentions::merge`]).
#[derive(Debug, Default, Clone)]
pub struct Mentions {
    /// By the suffix's digits.
    lists: FxHashMap<Box<[u8]>, PathLists>,
    sources: SourceFilenames,
    /// How many modules were counted.
    counted: u64,
}

impl Mentions {
    /// Counts a module's summary.
    pub fn add(&mut self, m: ModuleSummary) {
        let suffixes = m.suffixes().map(|(s, owning)| (s.as_bytes(), owning));
        self.count(&m.path, m.source_filename.as_deref(), suffixes);
    }

    /// Counts a module by its names (each with whether the module holds an
    /// owning definition of it), read from `path`: what
    /// [`Mentions::add`] of the module's summary ([`ModuleSummary::of_symtab`]
    /// for names from a symbol table, [`ModuleSummary::of`] for
    /// [`module_names`]) counts, without the summary (its
    /// suffixes found, made text and sorted, then looked up here).
    pub fn add_names<'n>(
        &mut self,
        path: &str,
        source_filename: Option<&[u8]>,
        names: impl Iterator<Item = (&'n [u8], bool)>,
    ) {
        let suffixes = names
            .filter_map(|(name, owning)| PromotedName::parse(name).map(|p| (p.suffix, owning)));
        self.count(path, source_filename, suffixes);
    }

    /// Counts a module that carries `suffixes` (each as often as its names
    /// do, with whether the name is an owning definition).
    fn count<'s>(
        &mut self,
        path: &str,
        source_filename: Option<&[u8]>,
        suffixes: impl Iterator<Item = (&'s [u8], bool)>,
    ) {
        self.counted += 1;
        let n = self.counted;
        // One copy of the path, shared by every suffix it mentions.
        let path_shared: Arc<str> = Arc::from(path);
        // Names with one suffix mostly come together: the last suffix, and
        // whether this module was counted as its definer, spare a lookup.
        let mut last: Option<(&[u8], bool)> = None;
        for (suffix, owning) in suffixes {
            if last.is_some_and(|(s, defined)| s == suffix && (defined || !owning)) {
                continue;
            }
            // A suffix is copied once, when first met.
            let lists = match self.lists.get_mut(suffix) {
                Some(l) => l,
                None => self.lists.entry(suffix.into()).or_default(),
            };
            if lists.mentioned_in != n {
                lists.mentioned_in = n;
                lists.mentioned_by.push(path_shared.clone());
            }
            if owning && lists.defined_in != n {
                lists.defined_in = n;
                lists.definers.push(path_shared.clone());
            }
            last = Some((suffix, lists.defined_in == n));
        }
        if !self.sources.contains_key(path) {
            self.sources
                .insert(path.to_owned(), source_filename.map(<[u8]>::to_vec));
        }
    }

    /// The mentions of both, as if every summary counted in either had
    /// been counted in one: what threads that each counted their own
    /// summaries make together. (A path that both give a source file name
    /// keeps one of the two: a path's summaries come from one file.)
    #[must_use]
    pub fn merge(self, other: Mentions) -> Mentions {
        // The smaller is moved into the larger.
        let (mut into, from) = if self.lists.len() >= other.lists.len() {
            (self, other)
        } else {
            (other, self)
        };
        // (A list new to `into` keeps no module numbers: they count
        // the modules of `from`.)
        for (suffix, lists) in from.lists {
            let l = into.lists.entry(suffix).or_default();
            l.definers.extend(lists.definers);
            l.mentioned_by.extend(lists.mentioned_by);
        }
        for (path, source) in from.sources {
            into.sources.entry(path).or_insert(source);
        }
        into
    }

    /// The mentions of each suffix, and each path's source file name
    /// (the first summary of a path counted gives it). Neither depends on
    /// the order the summaries were counted in: definers become sets,
    /// and the modules mentioning a suffix are sorted when they are read.
    pub fn finish(self) -> (BTreeMap<String, SuffixMentions>, SourceFilenames) {
        // Definers are gathered in lists and sorted into sets once (a set
        // built one insertion at a time compares paths on every one).
        let mentions = (self.lists.into_iter())
            .map(|(suffix, lists)| {
                let m = SuffixMentions {
                    definers: lists.definers.into_iter().collect(),
                    mentioned_by: lists.mentioned_by,
                };
                (names::suffix_text(&suffix).to_owned(), m)
            })
            .collect();
        (mentions, self.sources)
    }
}

/// What the set says about each suffix, and each path's source file name;
/// each summary is dropped once it is counted.
pub fn collect_mentions(
    mods: Vec<ModuleSummary>,
) -> (BTreeMap<String, SuffixMentions>, SourceFilenames) {
    mods.into_iter().collect::<Mentions>().finish()
}

impl FromIterator<ModuleSummary> for Mentions {
    fn from_iter<I: IntoIterator<Item = ModuleSummary>>(summaries: I) -> Self {
        let mut all = Mentions::default();
        for m in summaries {
            all.add(m);
        }
        all
    }
}

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub policy: Option<SuffixPolicy>,
    pub manifest: Option<Manifest>,
    /// Exact symbol renames (`--redefine-sym(s)`), already checked.
    pub redefines: BTreeMap<Vec<u8>, Vec<u8>>,
    pub keep_unresolved: bool,
    pub allow_asm_references: bool,
    /// Rewrite each module's source_filename with these maps
    /// (`--remap-source-filename`).
    pub remap_source_filename: Option<Vec<super::policy::PrefixMap>>,
}

/// A resolved, checked plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Old suffix digits -> new suffix. Hashed, by the digits' bytes:
    /// every name of every module is looked up here (the manifest sorts
    /// them when written).
    pub suffixes: FxHashMap<Vec<u8>, Vec<u8>>,
    /// Old symbol -> new symbol.
    pub symbols: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Old source_filename -> new (`--remap-source-filename`, or a manifest).
    pub source_filenames: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The owner of every suffix in the set.
    pub owners: Vec<SuffixOwner>,
    /// Suffixes the plan leaves as they are (no policy, not in the manifest).
    pub left_alone: Vec<String>,
    /// Unresolved suffixes left alone because of `--keep-unresolved`.
    pub unresolved_kept: Vec<String>,
    /// Symbol renames that matched no symbol in the set.
    pub unmatched: Vec<(Vec<u8>, Vec<u8>)>,
    /// Resolution problems that did not stop the plan.
    pub problems: Vec<Problem>,
    /// The names of the set that the plan renames and that are not plain
    /// symbol tokens, in order: asm is searched for them as text.
    renamed_odd_names: Vec<Vec<u8>>,
}

impl Plan {
    fn rename_suffix(&self, name: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        self.rename_suffix_into(name, &mut out).then_some(out)
    }

    /// [`Plan::rename_suffix`], the new name appended to `out`.
    fn rename_suffix_into(&self, name: &[u8], out: &mut Vec<u8>) -> bool {
        let Some(p) = PromotedName::parse(name) else {
            return false;
        };
        let Some(n) = self.suffixes.get(p.suffix) else {
            return false;
        };
        p.append_with_suffix(n, out);
        true
    }

    /// True if `suffix` was met when the plan was made (renamed, left
    /// alone or kept unresolved). The owners are sorted by suffix.
    pub fn knows_suffix(&self, suffix: &str) -> bool {
        debug_assert!(self.owners.windows(2).all(|w| w[0].suffix < w[1].suffix));
        self.owners
            .binary_search_by(|o| o.suffix.as_str().cmp(suffix))
            .is_ok()
    }

    /// The first renamed symbol `asm` names, if any: one of its symbol
    /// tokens that `is_name` accepts (a name of the set) and the plan
    /// renames, else a renamed name that occurs in it as text.
    fn asm_reference<'t>(
        &'t self,
        asm: &'t [u8],
        is_name: impl Fn(&[u8]) -> bool,
    ) -> Option<&'t [u8]> {
        names::symbol_tokens(asm)
            .find(|t| is_name(t) && self.global(t).is_some())
            .or_else(|| {
                self.renamed_odd_names
                    .iter()
                    .map(Vec::as_slice)
                    .find(|n| names::contains_token(asm, n))
            })
    }

    /// The checks that need function bodies, for a plan made from
    /// summaries ([`unchecked`]; `rename` makes such a plan first, as it
    /// needs no function body read): `Ok(false)` when a local name of `m`
    /// carries a suffix the plan never met (the plan must then be made with
    /// the bodies read), and an error for asm, module-level or inline,
    /// naming a symbol the plan would rename (unless `allow_asm`). The
    /// set's names are not at hand here, so any token the plan would rename
    /// counts: a stricter check than [`build`]'s, whose errors the caller
    /// confirms by planning again the exact way. `m` must be parsed with
    /// local names.
    ///
    /// # Errors
    /// A Policy error for a stale asm reference.
    pub fn check_bodies(&self, path: &str, m: &Module, allow_asm: bool) -> Result<bool> {
        for l in m.functions.iter().flat_map(|f| &f.local_names) {
            if let Some(p) = PromotedName::parse(&l.name) {
                if !self.knows_suffix(p.suffix_str()) {
                    return Ok(false);
                }
            }
        }
        if !allow_asm {
            for (place, text) in m.asm_texts() {
                if let Some(old) = self.asm_reference(text, |_| true) {
                    return Err(stale_asm(&place, path, old));
                }
            }
        }
        Ok(true)
    }

    /// True if the plan renames nothing.
    pub fn is_empty(&self) -> bool {
        self.suffixes.is_empty() && self.symbols.is_empty() && self.source_filenames.is_empty()
    }

    /// The plan as a manifest (`--plan-out`): applying it to any subset of
    /// the modules renames them exactly as this plan does.
    pub fn to_manifest_json(&self) -> String {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let suffixes: serde_json::Map<String, serde_json::Value> = self
            .suffixes
            .iter()
            .map(|(k, v)| (text(k), text(v).into()))
            .collect();
        let symbols: serde_json::Map<String, serde_json::Value> = self
            .symbols
            .iter()
            .map(|(k, v)| (text(k), text(v).into()))
            .collect();
        let mut v = serde_json::json!({"version": 1, "suffixes": suffixes, "symbols": symbols});
        if !self.source_filenames.is_empty() {
            let sources: serde_json::Map<String, serde_json::Value> = self
                .source_filenames
                .iter()
                .map(|(k, v)| (text(k), text(v).into()))
                .collect();
            v["source_filenames"] = sources.into();
        }
        let mut s = serde_json::to_string_pretty(&v).expect("serializes");
        s.push('\n');
        s
    }
}

impl Renamer for Plan {
    /// An exact rename first; a promotion suffix the result (or the name)
    /// carries is then renamed by the suffix plan, so that renaming again
    /// with the same options changes nothing.
    fn global(&self, name: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        self.global_into(name, &mut out).then_some(out)
    }

    fn global_into(&self, name: &[u8], out: &mut Vec<u8>) -> bool {
        match self.symbols.get(name) {
            Some(new) => {
                if !self.rename_suffix_into(new, out) {
                    out.extend_from_slice(new);
                }
                true
            }
            None => self.rename_suffix_into(name, out),
        }
    }

    fn local(&self, name: &[u8]) -> Option<Vec<u8>> {
        self.rename_suffix(name)
    }

    fn source_filename(&self, name: &[u8]) -> Option<Vec<u8>> {
        self.source_filenames.get(name).cloned()
    }
}

fn policy_error(m: impl Into<String>) -> Error {
    Error::new(ErrorKind::Policy, m)
}

fn stale_asm(place: &str, path: &str, name: &[u8]) -> Error {
    policy_error(format!(
        "{place} in {path} names {}, which would be renamed and leave the asm stale (--allow-asm-references to rename anyway)",
        show(name)
    ))
}

fn join<'a>(paths: impl IntoIterator<Item = &'a str>) -> String {
    paths.into_iter().collect::<Vec<_>>().join(", ")
}

/// Builds and checks the plan for a module set.
///
/// # Errors
/// Policy errors: unresolved suffixes (unless kept), two names renamed to
/// one, a new name already used by another symbol, a renamed symbol named in
/// module asm (unless allowed), a manifest and a redefine disagreeing.
pub fn build(
    mods: &[ModuleRef<'_>],
    prelink: &[HashedModule],
    index: &[IndexedModule],
    opts: &PlanOptions,
) -> Result<Plan> {
    let all = mods.iter().map(|m| ModuleSummary::of(m.path, m.module));
    let mut plan = unchecked(all.collect(), prelink, index, opts)?;
    check(mods, &mut plan, opts)?;
    Ok(plan)
}

/// The plan for a set known by its summaries: every suffix resolved and
/// given its new name, the exact renames checked against each other, but
/// no name of the set checked (for collisions, asm references or unmatched
/// renames): the caller checks them, with [`super::NameCheck`] and
/// [`Plan::check_bodies`] as each module is rewritten.
///
/// # Errors
/// As [`build`], but for the name checks.
pub fn unchecked(
    mods: Mentions,
    prelink: &[HashedModule],
    index: &[IndexedModule],
    opts: &PlanOptions,
) -> Result<Plan> {
    let (mentions, sources) = mods.finish();
    let (mut owner_list, problems) = owners::resolve(&mentions, &sources, prelink, index);
    let manifest = opts.manifest.clone().unwrap_or_default();
    let mut plan = Plan::default();
    let mut unresolved = Vec::new();
    for o in &mut owner_list {
        let source = o.source_filename.as_deref();
        let new: Option<Vec<u8>> = if let Some(n) = manifest.suffixes.get(&o.suffix) {
            if o.resolved_by == ResolvedBy::Unresolved {
                o.resolved_by = ResolvedBy::Manifest;
            }
            Some(n.as_bytes().to_vec())
        } else if let Some(n) =
            source.and_then(|s| manifest.sources.get(String::from_utf8_lossy(s).as_ref()))
        {
            Some(n.as_bytes().to_vec())
        } else if let Some(policy) = &opts.policy {
            match source {
                Some(s) => Some(policy.suffix_for(s)),
                None => {
                    if opts.keep_unresolved {
                        plan.unresolved_kept.push(o.suffix.clone());
                    } else {
                        unresolved.push(o.clone());
                    }
                    None
                }
            }
        } else {
            plan.left_alone.push(o.suffix.clone());
            None
        };
        if let Some(n) = new {
            if n != o.suffix.as_bytes() {
                plan.suffixes.insert(o.suffix.clone().into_bytes(), n);
            }
        }
    }
    if !unresolved.is_empty() {
        let lines: Vec<String> = unresolved
            .iter()
            .map(|o| {
                let m = &mentions[&o.suffix];
                match (&o.owner, m.definers.len()) {
                    (Some(owner), _) => format!(
                        "  .llvm.{}: owner {owner} has no source file name",
                        o.suffix
                    ),
                    (None, n) if n > 1 => format!(
                        "  .llvm.{}: defined in {} modules ({})",
                        o.suffix,
                        n,
                        join(m.definers.iter().map(|p| &**p))
                    ),
                    (None, _) => format!(
                        "  .llvm.{}: no owner (mentioned by {})",
                        o.suffix,
                        join(m.mentioned_by.sorted())
                    ),
                }
            })
            .collect();
        return Err(policy_error(format!(
            "{} suffix(es) cannot be renamed:\n{}\npass the owning modules, --prelink or --index, or --keep-unresolved to leave them",
            unresolved.len(),
            lines.join("\n")
        )));
    }
    plan.owners = owner_list;
    plan.source_filenames = manifest
        .source_filenames
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect();
    if let Some(maps) = &opts.remap_source_filename {
        for sf in sources.values().flatten() {
            let new = super::policy::apply_prefix_maps(maps, sf);
            if new != *sf {
                plan.source_filenames.insert(sf.clone(), new);
            }
        }
    }
    plan.problems = problems;

    // Exact renames: the manifest's and the command line's, checked together.
    let mut symbols = opts.redefines.clone();
    for (old, new) in &manifest.symbols {
        match symbols.get(old.as_bytes()) {
            Some(other) if other != new.as_bytes() => {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!(
                        "{} is renamed to {} by the manifest and to {} by --redefine-sym",
                        show(old.as_bytes()),
                        show(new.as_bytes()),
                        show(other)
                    ),
                ));
            }
            _ => {
                symbols.insert(old.as_bytes().to_vec(), new.as_bytes().to_vec());
            }
        }
    }
    let mut targets: BTreeMap<&[u8], &[u8]> = BTreeMap::new();
    for (old, new) in &symbols {
        if let Some(prev) = targets.insert(new, old) {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "{} is the new name of both {} and {}",
                    show(new),
                    show(prev),
                    show(old)
                ),
            ));
        }
    }
    symbols.retain(|o, n| o != n);
    plan.symbols = symbols;
    Ok(plan)
}

/// The collision and asm checks, run on every name of the set.
fn check<'m>(mods: &[ModuleRef<'m>], plan: &mut Plan, opts: &PlanOptions) -> Result<()> {
    // Every distinct global and comdat name, in order (the module lists
    // for messages are gathered only when there is something to say).
    let mut names: FxHashSet<&'m [u8]> = FxHashSet::default();
    names.reserve(
        mods.iter()
            .map(|r| r.module.globals.len() + r.module.comdats.len())
            .sum(),
    );
    for r in mods {
        names.extend(r.module.globals.iter().map(|g| g.name.as_slice()));
        names.extend(r.module.comdats.iter().map(|c| c.name.as_slice()));
    }
    let users = |n: &[u8]| -> String {
        let ms: BTreeSet<&str> = mods
            .iter()
            .filter(|r| {
                r.module.globals.iter().any(|g| g.name == n)
                    || r.module.comdats.iter().any(|c| c.name == n)
            })
            .map(|r| r.path)
            .collect();
        format!(
            "{} (in {})",
            show(n),
            ms.into_iter().collect::<Vec<_>>().join(", ")
        )
    };
    plan.unmatched = plan
        .symbols
        .iter()
        .filter(|(old, _)| !names.contains(old.as_slice()))
        .map(|(o, n)| (o.clone(), n.clone()))
        .collect();

    // Only a renamed name can collide: with another renamed one, or with a
    // name that stays. Whether there is a collision does not depend on the
    // order names are visited in; which one is reported does, so on a
    // collision the names are visited again in order, and the error is the
    // same in every run.
    let renames = |order: &mut dyn Iterator<Item = &'m [u8]>| {
        let mut targets: FxHashMap<Vec<u8>, &[u8]> = FxHashMap::default();
        for old in order {
            let Some(new) = plan.global(old) else {
                continue;
            };
            if let Some(&prev) = targets.get(&new) {
                return Err(policy_error(format!(
                    "{} and {} would both be renamed to {}",
                    users(prev),
                    users(old),
                    show(&new)
                )));
            }
            if names.contains(new.as_slice()) && plan.global(&new).is_none() {
                return Err(policy_error(format!(
                    "renaming {} to {} collides with the existing {}",
                    users(old),
                    show(&new),
                    users(&new)
                )));
            }
            targets.insert(new, old);
        }
        Ok(targets)
    };
    let targets = match renames(&mut names.iter().copied()) {
        Ok(t) => t,
        Err(_) => {
            let mut sorted: Vec<&[u8]> = names.iter().copied().collect();
            sorted.sort_unstable();
            return Err(renames(&mut sorted.into_iter()).expect_err("a collision in any order"));
        }
    };

    let mut odd: Vec<Vec<u8>> = targets
        .values()
        .filter(|n| !names::all_symbol_bytes(n))
        .map(|n| n.to_vec())
        .collect();
    odd.sort();
    plan.renamed_odd_names = odd;
    if !opts.allow_asm_references {
        for r in mods {
            for (place, text) in r.module.asm_texts() {
                if let Some(old) = plan.asm_reference(text, |t| names.contains(t)) {
                    return Err(stale_asm(&place, r.path, old));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mentions of a set are the same whichever order its summaries
    /// are counted in (the threads that make them count them as they
    /// finish): the definers, the modules mentioning each suffix and each
    /// path's source file name.
    #[test]
    fn mentions_do_not_depend_on_the_order_summaries_are_counted_in() {
        let rels = [
            "clang-19/prog/inprocess/main.o.5.precodegen.bc",
            "clang-19/prog/inprocess/util.o.5.precodegen.bc",
            "clang-19/prog/inprocess/alias.o.5.precodegen.bc",
            "clang-19/prog/inprocess/asm.o.5.precodegen.bc",
        ];
        let summaries: Vec<ModuleSummary> = rels
            .iter()
            .map(|rel| {
                let (_, file) = crate::testing::testdata_file(rel);
                ModuleSummary::of(rel, &file.modules[0])
            })
            .collect();
        let counted = |order: &[usize]| {
            let mut all = Mentions::default();
            for &i in order {
                all.add(summaries[i].clone());
            }
            all.finish()
        };
        let (mentions, sources) = counted(&[0, 1, 2, 3]);
        let shared = mentions
            .values()
            .filter(|m| m.mentioned_by.sorted().len() > 1);
        assert!(
            shared.count() > 0 && sources.len() == rels.len(),
            "{mentions:?}"
        );
        for order in [[3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]] {
            assert_eq!(
                counted(&order),
                (mentions.clone(), sources.clone()),
                "{order:?}"
            );
        }
        // Counted by threads, each its own, and merged (either way round).
        for split in 0..=summaries.len() {
            let mut parts = [Mentions::default(), Mentions::default()];
            for (i, s) in summaries.iter().enumerate() {
                parts[usize::from(i >= split)].add(s.clone());
            }
            let [a, b] = parts;
            let (a2, b2) = (a.clone(), b.clone());
            assert_eq!(a.merge(b).finish(), (mentions.clone(), sources.clone()));
            assert_eq!(b2.merge(a2).finish(), (mentions.clone(), sources.clone()));
        }
        assert_eq!(collect_mentions(summaries.clone()), (mentions, sources));
    }

    /// Counting a module by its names gives the mentions its summary
    /// gives: on every file of the test data with a symbol table, each
    /// counted twice under two paths, in one table or in two merged (and
    /// counted into after the merge); and on names whose suffixes come
    /// back, defined by a later name than the first to carry them.
    #[test]
    fn names_count_as_their_summary_does() {
        let datas: Vec<(String, Vec<u8>)> = (crate::testing::testdata_paths().iter())
            .map(|p| (p.display().to_string(), std::fs::read(p).unwrap()))
            .filter(|(_, d)| SymtabNames::read(d).is_some())
            .collect();
        assert!(datas.len() > 20, "{} files with a table", datas.len());
        let counted = |by_names: bool, split: usize| {
            let mut parts = [Mentions::default(), Mentions::default()];
            for (i, (path, data)) in datas.iter().chain(&datas).enumerate() {
                let path = format!("{path}#{}", i / datas.len());
                let names = SymtabNames::read(data).unwrap();
                let part = &mut parts[usize::from(i >= split)];
                if by_names {
                    part.add_names(&path, Some(names.source_filename), names.names());
                } else {
                    part.add(ModuleSummary::of_symtab(&path, &names));
                }
            }
            let [a, b] = parts;
            let mut all = a.merge(b);
            let tail: [(&[u8], bool); 2] = [(b"late.llvm.1", false), (b"late.llvm.1", true)];
            all.add_names("late", None, tail.into_iter());
            all.finish()
        };
        let expected = counted(false, usize::MAX);
        assert!(expected.0.values().any(|m| !m.definers.is_empty()));
        for split in [usize::MAX, 0, 7, datas.len(), datas.len() + 3] {
            assert_eq!(counted(true, split), expected, "split at {split}");
        }
        // A suffix met again, then defined; another in between.
        let names: [(&[u8], bool); 5] = [
            (b"a.llvm.1", false),
            (b"b.llvm.1", true),
            (b"c.llvm.2", false),
            (b"d.llvm.2", false),
            (b"e.llvm.2", true),
        ];
        let mut by_names = Mentions::default();
        by_names.add_names("m", Some(b"m.c"), names.into_iter());
        let summary = ModuleSummary::from_names("m", Some(b"m.c"), names.into_iter());
        assert_eq!(by_names.finish(), collect_mentions(vec![summary]));
    }
}
