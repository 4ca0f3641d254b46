//! Receipts to the aidé (docs/security/aide-space.md, "Receipts"): the channels that carry
//! them (`channel`), the jobs that send them, digest them weekly and remind a mandate's end
//! (`jobs`), and the public pages of a receipt's code and of « Ce n'était pas moi » (`pages`).
//! The receipts themselves are written by storage, in the transaction of the event they report
//! (`ac_storage::receipts`).

mod channel;
pub mod jobs;
pub(crate) mod pages;
