//! Promoted names, their owners and (from issue 3 on) the rename plan.
//!
//! Knows nothing about bits: it works on names and facts extracted by the
//! [`crate::bitcode`] layer.

pub mod names;
pub mod owners;

pub use names::PromotedName;
pub use owners::{HashedModule, IndexedModule, Problem, ResolvedBy, SuffixMentions, SuffixOwner};
