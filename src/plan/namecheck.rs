//! The name checks of a plan made from summaries, run as the set is
//! rewritten: no set-wide list of names is kept, only a 64-bit fingerprint
//! of each distinct name (as ThinLTO itself identifies globals by 64-bit
//! GUIDs).
//!
//! Equal names have equal fingerprints, so a collision shows as one; a
//! fingerprint that the set gives two names (seen both renamed and
//! staying) or a rename the fingerprints cannot judge makes the check
//! inconclusive, and the caller then checks the set the exact way
//! ([`super::build::build`]), which also words the error. What can slip
//! through is two different names that share a fingerprint and are renamed
//! to one name.

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHashSet};

use super::build::Plan;
use super::names;
use crate::bitcode::rewrite::{ChangeKind, ChangeRef, Changes};
use crate::bitcode::Module;

/// A 64-bit hash of a name, the same for every file of a run. Not a
/// cryptographic hash: names made to share one only send the run the
/// exact way.
fn fingerprint(name: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    name.hash(&mut h);
    h.finish()
}

/// What the name checks need of one file, taken when it is rewritten.
#[derive(Debug, Default)]
pub struct NameFacts {
    /// Every global and comdat name that is not renamed.
    staying: Vec<u64>,
    /// Each renamed global or comdat name: (old, new).
    renamed: Vec<(u64, u64)>,
    /// The exact renames whose old name the file has.
    matched: Vec<Vec<u8>>,
    /// A renamed name that asm would have to be searched for as text.
    odd_renamed: bool,
    /// The file has asm (module-level or inline).
    has_asm: bool,
}

impl NameFacts {
    /// Adds a module of the file and the renames made in it (`changes`
    /// may hold other modules' renames too: those of `module` count).
    pub fn add(&mut self, plan: &Plan, m: &Module, module: usize, changes: &Changes) {
        let is_global = |c: &ChangeRef<'_>| {
            c.module == module && !matches!(c.kind, ChangeKind::Local | ChangeKind::SourceFilename)
        };
        self.staying.reserve(m.globals.len() + m.comdats.len());
        self.renamed.reserve(changes.len());
        for c in changes.iter().filter(is_global) {
            self.odd_renamed |= !names::all_symbol_bytes(c.old);
        }
        // Without exact renames a new name is a promoted name with another
        // suffix, and only promoted names are renamed: both hold the
        // token, so a staying name without it meets neither and is left
        // out (most names: those never promoted).
        let exact = !plan.symbols.is_empty();
        let may_meet = |name: &[u8]| exact || names::has_token(name);
        if !self.add_in_step(m, changes, is_global, may_meet) {
            self.add_by_fingerprint(m, changes, is_global, may_meet);
        }
        if exact {
            for name in names_of(m) {
                if plan.symbols.contains_key(name.as_slice()) {
                    self.matched.push(name.to_vec());
                }
            }
        }
        self.has_asm |= !m.asm.is_empty() || m.functions.iter().any(|f| !f.inline_asm.is_empty());
    }

    /// The usual case, with no lookup: the module's renames are those of
    /// its globals, then comdats, in their order (as a rewrite lists
    /// them), each name hashed once. False, having added nothing, when
    /// they are not. (Were a name of the module there twice, renamed at
    /// one place only, it would count as staying and renamed: the check
    /// is then left undecided, not passed.)
    fn add_in_step(
        &mut self,
        m: &Module,
        changes: &Changes,
        is_global: impl Fn(&ChangeRef<'_>) -> bool,
        may_meet: impl Fn(&[u8]) -> bool,
    ) -> bool {
        let (staying, renamed) = (self.staying.len(), self.renamed.len());
        let mut renames = changes.iter().filter(is_global).peekable();
        for name in names_of(m) {
            match renames.peek() {
                Some(c) if c.old == name.as_slice() => {
                    self.renamed.push((fingerprint(name), fingerprint(c.new)));
                    renames.next();
                }
                _ if may_meet(name) => self.staying.push(fingerprint(name)),
                _ => {}
            }
        }
        if renames.next().is_some() {
            self.staying.truncate(staying);
            self.renamed.truncate(renamed);
            return false;
        }
        true
    }

    /// Any order of renames: each name is hashed once, and the renamed
    /// ones are found by fingerprint, then compared.
    fn add_by_fingerprint(
        &mut self,
        m: &Module,
        changes: &Changes,
        is_global: impl Fn(&ChangeRef<'_>) -> bool,
        may_meet: impl Fn(&[u8]) -> bool,
    ) {
        let mut renamed: FxHashMap<u64, usize> =
            FxHashMap::with_capacity_and_hasher(changes.len(), Default::default());
        for (i, c) in changes.iter().enumerate().filter(|(_, c)| is_global(c)) {
            let old = fingerprint(c.old);
            renamed.entry(old).or_insert(i);
            self.renamed.push((old, fingerprint(c.new)));
        }
        for name in names_of(m).filter(|n| may_meet(n)) {
            let f = fingerprint(name);
            let candidate = renamed.get(&f).map(|&i| changes.get(i));
            if !is_renamed(name, candidate, changes.iter().filter(|c| is_global(c))) {
                self.staying.push(f);
            }
        }
    }
}

/// The names of a module's globals, then its comdats.
fn names_of(m: &Module) -> impl Iterator<Item = &crate::bitcode::module::Name> {
    (m.globals.iter().map(|g| &g.name)).chain(m.comdats.iter().map(|c| &c.name))
}

/// Whether `name` is renamed: `candidate` is the rename its fingerprint
/// points at, if any, and `renames` all of the module's. Fingerprints can
/// collide, so the names are compared, and every rename is looked at when
/// the candidate is another name's.
fn is_renamed<'c>(
    name: &[u8],
    candidate: Option<ChangeRef<'c>>,
    mut renames: impl Iterator<Item = ChangeRef<'c>>,
) -> bool {
    candidate.is_some_and(|c| c.old == name || renames.any(|c| c.old == name))
}

/// The name checks over the whole set, fed a file at a time.
#[derive(Debug, Default)]
pub struct NameCheck {
    staying: FxHashSet<u64>,
    /// New name -> old name (the old names are the renamed ones).
    targets: FxHashMap<u64, u64>,
    matched: BTreeSet<Vec<u8>>,
    odd_renamed: bool,
    has_asm: bool,
    /// Two renames meet, or could.
    clash: bool,
}

impl NameCheck {
    pub fn add(&mut self, facts: NameFacts) {
        self.targets.reserve(facts.renamed.len());
        self.staying.extend(facts.staying);
        for (old, new) in facts.renamed {
            if let Some(prev) = self.targets.insert(new, old) {
                self.clash |= prev != old;
            }
        }
        self.matched.extend(facts.matched);
        self.odd_renamed |= facts.odd_renamed;
        self.has_asm |= facts.has_asm;
    }

    /// True when the set passes every name check of
    /// [`super::build::build`], and then records the exact renames that
    /// matched no name in `plan`; false when only the exact check can tell
    /// (a collision, a fingerprint of two names, or a renamed name that asm
    /// would have to be searched for as text).
    pub fn finish(self, plan: &mut Plan, allow_asm: bool) -> bool {
        if self.clash || (self.odd_renamed && self.has_asm && !allow_asm) {
            return false;
        }
        // A name is renamed everywhere or nowhere: a fingerprint seen both
        // ways belongs to two names. And a new name must not be a name of
        // the set which stays.
        let stays = |f: &u64| self.staying.contains(f);
        if !self.staying.is_empty()
            && self
                .targets
                .iter()
                .any(|(new, old)| stays(old) || stays(new))
        {
            return false;
        }
        plan.unmatched = plan
            .symbols
            .iter()
            .filter(|(old, _)| !self.matched.contains(*old))
            .map(|(o, n)| (o.clone(), n.clone()))
            .collect();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The facts of a module are the same whether its renames come in
    /// the order of its names (taken in step) or in any other (looked up
    /// by fingerprint).
    #[test]
    fn renames_in_step_or_looked_up_give_the_same_facts() {
        let (_, file) = crate::testing::testdata_file("clang-19/prog/distributed/main.bc");
        let m = &file.modules[0];
        let names: Vec<&[u8]> = names_of(m).map(|n| n.as_slice()).collect();
        assert!(names.len() > 3, "{names:?}");
        // Every other name renamed, in the order of the names, with a
        // rename of another module and a local among them.
        let mut in_order = Changes::new();
        in_order.push(1, ChangeKind::Function, names[0], b"elsewhere");
        for (i, n) in names.iter().enumerate().filter(|(i, _)| i % 2 == 1) {
            let kind = if i < m.globals.len() {
                ChangeKind::Function
            } else {
                ChangeKind::Comdat
            };
            in_order.push(0, kind, n, format!("new{i}").as_bytes());
            in_order.push(0, ChangeKind::Local, b"x.llvm.1", b"x.llvm.2");
        }
        let reversed: Changes = {
            let all: Vec<_> = in_order.iter().collect();
            all.into_iter().rev().collect()
        };
        // (An exact rename in the plan keeps every staying name.)
        let mut plan = Plan::default();
        plan.symbols.insert(b"other".to_vec(), b"new".to_vec());
        let facts = |changes: &Changes| {
            let mut f = NameFacts::default();
            f.add(&plan, m, 0, changes);
            f.staying.sort_unstable();
            f.renamed.sort_unstable();
            (f.staying, f.renamed)
        };
        let global = |c: &ChangeRef<'_>| c.module == 0 && c.kind != ChangeKind::Local;
        let mut stepped = NameFacts::default();
        assert!(stepped.add_in_step(m, &in_order, global, |_| true));
        let mut looked_up = NameFacts::default();
        assert!(!looked_up.add_in_step(m, &reversed, global, |_| true));
        assert!(looked_up.staying.is_empty() && looked_up.renamed.is_empty());
        let (staying, renamed) = facts(&in_order);
        assert_eq!(
            (staying.len(), renamed.len()),
            (names.len() - names.len() / 2, names.len() / 2)
        );
        assert_eq!(facts(&reversed), (staying, renamed));
    }

    /// Without exact renames, a staying name without the promotion token
    /// (which no new name and no renamed name can be) is left out of the
    /// facts, whichever way the renames are taken; with them, every
    /// staying name is kept.
    #[test]
    fn staying_names_that_no_rename_can_meet_are_left_out() {
        let (_, file) = crate::testing::testdata_file("clang-19/prog/distributed/main.bc");
        let m = &file.modules[0];
        let names: Vec<&[u8]> = names_of(m).map(|n| n.as_slice()).collect();
        let (with_token, without): (Vec<&[u8]>, Vec<&[u8]>) =
            names.iter().partition(|n| names::has_token(n));
        assert!(!with_token.is_empty() && !without.is_empty(), "{names:?}");
        let renamed = with_token[0];
        let mut changes = Changes::new();
        changes.push(0, ChangeKind::Function, renamed, b"x.llvm.new");
        let fingerprints = |names: &[&[u8]]| {
            let mut f: Vec<u64> = names
                .iter()
                .filter(|n| **n != renamed)
                .map(|n| fingerprint(n))
                .collect();
            f.sort_unstable();
            f
        };
        let mut exact = Plan::default();
        exact.symbols.insert(b"other".to_vec(), b"new".to_vec());
        for (plan, kept) in [(&Plan::default(), &with_token), (&exact, &names)] {
            let mut f = NameFacts::default();
            f.add(plan, m, 0, &changes);
            f.staying.sort_unstable();
            assert_eq!(f.staying, fingerprints(kept));
            assert_eq!(
                f.renamed,
                vec![(fingerprint(renamed), fingerprint(b"x.llvm.new"))]
            );
            let mut looked_up = NameFacts::default();
            let may_meet = |n: &[u8]| !plan.symbols.is_empty() || names::has_token(n);
            looked_up.add_by_fingerprint(m, &changes, |c| c.module == 0, may_meet);
            looked_up.staying.sort_unstable();
            assert_eq!(looked_up.staying, f.staying);
        }
    }

    /// The facts of a file with these names, of which `renamed` are renamed.
    fn facts(names: &[&str], renamed: &[(&str, &str)]) -> NameFacts {
        NameFacts {
            staying: names
                .iter()
                .filter(|n| !renamed.iter().any(|(o, _)| o == *n))
                .map(|n| fingerprint(n.as_bytes()))
                .collect(),
            renamed: renamed
                .iter()
                .map(|(o, n)| (fingerprint(o.as_bytes()), fingerprint(n.as_bytes())))
                .collect(),
            ..NameFacts::default()
        }
    }

    fn decides(files: Vec<NameFacts>, allow_asm: bool) -> bool {
        let mut check = NameCheck::default();
        for f in files {
            check.add(f);
        }
        check.finish(&mut Plan::default(), allow_asm)
    }

    /// A name whose fingerprint points at another name's rename (a
    /// collision) is renamed only if some rename of the module is its own.
    #[test]
    fn a_renamed_name_is_found_past_a_colliding_fingerprint() {
        let mut changes = Changes::new();
        for old in ["a", "b"] {
            changes.push(0, ChangeKind::Function, old.as_bytes(), b"n");
        }
        let is = |name: &str, candidate: usize| {
            is_renamed(
                name.as_bytes(),
                Some(changes.get(candidate)),
                changes.iter(),
            )
        };
        assert!(is("a", 0));
        assert!(is("b", 0), "b's own rename is found past a's");
        assert!(!is("c", 0));
        assert!(!is_renamed(b"a", None, changes.iter()));
    }

    #[test]
    fn the_same_rename_in_many_files_is_no_collision() {
        let r = [("f.llvm.1", "f.llvm.a_c")];
        assert!(decides(
            vec![facts(&["f.llvm.1", "g"], &r), facts(&["f.llvm.1"], &r)],
            false
        ));
    }

    #[test]
    fn two_names_renamed_to_one_are_undecided() {
        let one = facts(&["f.llvm.1"], &[("f.llvm.1", "f.llvm.x")]);
        let two = facts(&["f.llvm.2"], &[("f.llvm.2", "f.llvm.x")]);
        assert!(!decides(vec![one, two], false));
    }

    #[test]
    fn a_new_name_that_stays_is_undecided_and_one_that_moves_is_not() {
        let stays = facts(&["f.llvm.1", "f.llvm.2"], &[("f.llvm.1", "f.llvm.2")]);
        assert!(!decides(vec![stays], false));
        // A swap: each new name is an old name that is renamed too.
        let swap = facts(
            &["f.llvm.1", "f.llvm.2"],
            &[("f.llvm.1", "f.llvm.2"), ("f.llvm.2", "f.llvm.1")],
        );
        assert!(decides(vec![swap], false));
        // The name that is taken can come from another file.
        let one = facts(&["f.llvm.1"], &[("f.llvm.1", "g")]);
        assert!(!decides(vec![one, facts(&["g"], &[])], false));
    }

    /// Two names sharing a fingerprint, one renamed and one that stays,
    /// leave the check undecided: otherwise a rename onto the name that
    /// stays would pass as a rename onto the one that moves.
    #[test]
    fn a_fingerprint_seen_renamed_and_staying_is_undecided() {
        let (b, c, d) = (1u64, 2u64, 3u64);
        let stays = NameFacts {
            staying: vec![b],
            ..NameFacts::default()
        };
        // `b` is also the fingerprint of a renamed name, and a rename lands
        // on `b`.
        let moves = NameFacts {
            renamed: vec![(b, c), (d, b)],
            ..NameFacts::default()
        };
        assert!(!decides(vec![stays, moves], false));
    }

    #[test]
    fn an_odd_renamed_name_with_asm_is_undecided_unless_asm_is_allowed() {
        let odd = || NameFacts {
            odd_renamed: true,
            ..facts(&["f g.llvm.1"], &[("f g.llvm.1", "f g.llvm.x")])
        };
        let asm = || NameFacts {
            has_asm: true,
            ..NameFacts::default()
        };
        assert!(!decides(vec![odd(), asm()], false));
        assert!(decides(vec![odd(), asm()], true));
        assert!(decides(vec![odd()], false));
        assert!(decides(vec![asm()], false));
    }

    #[test]
    fn exact_renames_that_match_no_name_are_recorded() {
        let mut plan = Plan::default();
        plan.symbols.insert(b"a".to_vec(), b"b".to_vec());
        plan.symbols.insert(b"c".to_vec(), b"d".to_vec());
        let mut check = NameCheck::default();
        let mut f = facts(&["a"], &[("a", "b")]);
        f.matched.push(b"a".to_vec());
        check.add(f);
        assert!(check.finish(&mut plan, false));
        assert_eq!(plan.unmatched, vec![(b"c".to_vec(), b"d".to_vec())]);
    }
}
