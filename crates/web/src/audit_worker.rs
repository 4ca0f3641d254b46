//! The background side of the audit log on each node: integrate pending entries (within
//! `integrate_interval_ms`) and sign a checkpoint every `checkpoint_interval_secs` when there is
//! something new, writing each checkpoint to `checkpoint_dir` too. Several nodes may run it: the
//! storage layer serialises them with a database lock.

use ac_storage::StorageError;
use ac_storage::audit::{self, CheckpointRecord};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use crate::AppState;
use crate::periodic::{self, Periodic};

/// Writes `<dir>/<size>` and replaces `<dir>/latest`, each through a temporary file and a rename
/// so a reader never sees half a note.
pub fn publish(dir: &Path, checkpoint: &CheckpointRecord) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for name in [checkpoint.tree_size.to_string(), "latest".to_owned()] {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, &checkpoint.signed_note)?;
        std::fs::rename(&tmp, dir.join(name))?;
    }
    Ok(())
}

/// One round: integrate everything pending, then sign if due.
pub fn run_once(
    state: &AppState,
    sign: bool,
) -> Result<Option<CheckpointRecord>, ac_storage::StorageError> {
    let conn = &mut *state.db.conn()?;
    let settings = &state.settings.audit;
    audit::integrate_all(conn, settings.integrate_batch, state.clock.now())?;
    if !sign {
        return Ok(None);
    }
    let signed = audit::sign_checkpoint(conn, &state.audit_key, false, state.clock.now())?;
    if let Some(checkpoint) = &signed {
        // The checkpoint's own journal entry is integrated now rather than a round later.
        audit::integrate_all(conn, settings.integrate_batch, state.clock.now())?;
        publish(&settings.checkpoint_dir, checkpoint)?;
        tracing::info!(tree_size = checkpoint.tree_size, "audit checkpoint signed");
    }
    Ok(signed)
}

/// The journal-integrity alarm of this node: raised once, with its reason, when integration
/// meets a row the service did not write (`StorageError::JournalIntegrity`); never lowered while
/// the process runs (docs/operations.md, "Journal integrity alarm").
#[derive(Debug, Default)]
pub struct JournalAlarm(OnceLock<String>);

impl JournalAlarm {
    /// The reason, once raised.
    pub fn raised(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }

    /// Raises the alarm with its reason (the storage error, code first); the first reason is
    /// kept.
    pub fn raise(&self, why: String) {
        let _ = self.0.set(why);
    }
}

/// Integrates every `integrate_interval_ms` and signs every `checkpoint_interval_secs`. On a
/// journal-integrity error it raises the alarm, says so once at error level, and stops
/// integrating and signing: going on would either fail on the same row every round or seal a
/// foreign row into the tree.
pub fn spawn(state: AppState) -> std::io::Result<Periodic> {
    let integrate_every = state.settings.audit.integrate_interval.unsigned_abs();
    let sign_every = state.settings.audit.checkpoint_interval.unsigned_abs();
    let mut last_signed = Instant::now();
    periodic::spawn("audit-worker", integrate_every, move || {
        if state.journal_alarm.raised().is_some() {
            return;
        }
        let sign = last_signed.elapsed() >= sign_every;
        match run_once(&state, sign) {
            Ok(_) if sign => last_signed = Instant::now(),
            Ok(_) => {}
            Err(e @ StorageError::JournalIntegrity(_)) => {
                tracing::error!(
                    code = e.code(),
                    reason = %e,
                    "journal integrity alarm: audit integration stopped until the journal is examined and the service restarted"
                );
                state.journal_alarm.raise(e.to_string());
            }
            // Logged and retried: the entries wait safely in the pending table.
            Err(e) => tracing::error!(error = ?e, code = e.code(), "audit worker round failed"),
        }
    })
}

/// The checkpoints published as files in `dir` (named by their size): they anchor verification
/// outside the database. A missing folder holds none.
pub fn read_published(dir: &Path) -> std::io::Result<Vec<String>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut notes = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if is_published(&path) {
            notes.push(std::fs::read_to_string(&path)?);
        }
    }
    Ok(notes)
}

/// How many checkpoints `dir` holds, counted by their names without reading them: the
/// integrity page shows the count, and a service that signs every 10 s writes a file each time.
pub fn count_published(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|entry| is_published(&entry.path()))
            .count()
    })
}

/// A published checkpoint's file is named by its tree size alone (`latest` is a copy).
fn is_published(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.is_empty() && name.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn only_files_named_by_a_size_count_and_are_read_as_published_checkpoints() {
        let dir = std::env::temp_dir().join(format!("ac-published-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in [
            ("12", "note 12"),
            ("7", "note 7"),
            ("latest", "note 12"),
            (".12.tmp", "half"),
            ("12.bak", "old"),
        ] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        assert_eq!(count_published(&dir), 2);
        let mut notes = read_published(&dir).unwrap();
        notes.sort();
        assert_eq!(notes, ["note 12", "note 7"]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(count_published(&dir), 0);
        assert!(read_published(&dir).unwrap().is_empty());
    }
}
