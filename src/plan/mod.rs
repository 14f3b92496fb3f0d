//! Promoted names, their owners, policies and the rename plan.
//!
//! Knows nothing about bits: it works on names and facts extracted by the
//! [`crate::bitcode`] layer.

pub mod build;
pub mod namecheck;
pub mod names;
pub mod owners;
pub mod policy;

pub use build::{build, ModuleRef, ModuleSummary, Plan, PlanOptions};
pub use namecheck::{NameCheck, NameFacts};
pub use names::PromotedName;
pub use owners::{HashedModule, IndexedModule, Problem, ResolvedBy, SuffixMentions, SuffixOwner};
