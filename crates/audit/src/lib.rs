#![doc = include_str!("../README.md")]

mod action;
pub mod checkpoint;
pub mod entry;
mod error;
mod jcs;
pub mod merkle;
pub mod note;
pub mod proof;
mod reader;
pub mod replay;
pub mod verify;

pub use action::{Action, ActorKind};
pub use checkpoint::Checkpoint;
pub use entry::{Actor, Entry, canonical_time};
pub use error::AuditError;
pub use merkle::{Frontier, Hash};
pub use note::{SecretKeyText, SignerKey, VerifiedNote, VerifierKey, sign_note, verify_note};
pub use proof::{InclusionBundle, VerifiedInclusion, verify_bundle};
pub use reader::EntryView;
