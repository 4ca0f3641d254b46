//! The référent and coordinator consoles: scoped reads of the records and the journal,
//! streamed exports, dashboards, anomaly rules, verification runs, and the référent's
//! operations on their structure's team.
//!
//! Access control lives here as much as in the web layer: every read takes a [`Scope`], built on
//! the server from the signed-in account's own record, and restricts its SQL to it. A filter the
//! web layer forgot to check still cannot reach outside the scope; the web layer checks first
//! only so that a tampered request gets a 403 and a journal entry instead of an empty page.

pub mod anomalies;
pub mod dashboard;
pub mod export;
pub mod journal;
mod refusal;
mod scope;
pub mod team;
pub mod verifications;

pub use refusal::ConsoleRefusal;
pub use scope::{Denial, Names, OutOfScope, Scope, UsagerMatch, deny, names, safe_target};

/// The journal action that counts as one delegated use: the aidant chose the usager and the
/// démarche and a website received an authorization code, after the mandate check
/// (`delegation.completed`, when the website fetched the identity, follows it at most once per
/// code; counting both would count one use twice).
pub const USE_ACTION: ac_audit::Action = ac_audit::Action::DelegationStarted;
