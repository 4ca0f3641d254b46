//! Verification's rebuild of the tree keeps the frontier (one hash per set bit of the size, at
//! most 64), never the leaves, and meets the tree heads and signed checkpoints page by page,
//! never all of them: its memory does not grow with the log (docs/performance.md, "Audit log: append and verify"). This
//! binary holds this one test, so the process's resident memory is the rebuild's: anything that
//! kept every leaf (1,048,576 leaves = 32 MiB of hashes), every head (349,525 heads, about
//! 13 MiB) or every checked checkpoint (262,144, about 14 MiB) would show in the peak.

#![cfg(target_os = "linux")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_audit::Frontier;
use ac_audit::merkle::Hash;
use ac_audit::verify::{CheckedPage, ExpectedRoots, Rebuild, StoredRoots};

/// 2^20 leaves: 32 MiB if kept.
const LEAVES: u64 = 1 << 20;
/// Rows per page, as storage reads them.
const PAGE: u64 = 10_000;
/// What the rebuild may add to the resident memory: a page of leaf hashes (about 0.3 MiB), the
/// frontier and the allocator's slack, far below the 32 MiB of the leaves.
const ALLOWED_GROWTH_KIB: u64 = 8 * 1024;

/// A distinct synthetic leaf hash per position (its value does not matter to the tree).
fn leaf(i: u64) -> Hash {
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&i.to_be_bytes());
    hash[24..].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
    hash
}

/// A tree head every this many entries, as a busy integrator writes them (a quiet one writes
/// one per entry).
const HEAD_EVERY: u64 = 3;
/// A signed checkpoint every this many entries (a quiet service signs one every other entry).
const CHECKPOINT_EVERY: u64 = 4;

/// The pages of the log, generated one at a time as storage streams them, each with the tree
/// heads and checked checkpoints of its sizes from an independent pass (its own frontier).
fn pages() -> impl Iterator<Item = CheckedPage> {
    let mut independent = Frontier::new();
    (0..LEAVES).step_by(PAGE as usize).map(move |from| {
        let leaves: Vec<Hash> = (from..(from + PAGE).min(LEAVES)).map(leaf).collect();
        let mut roots = StoredRoots::default();
        for leaf in &leaves {
            independent.push(*leaf).unwrap();
            let size = independent.size();
            if size.is_multiple_of(HEAD_EVERY) || size == LEAVES {
                roots.heads.push((size, independent.root()));
            }
            if size.is_multiple_of(CHECKPOINT_EVERY) {
                roots.checkpoints.push((size, Ok(independent.root())));
            }
        }
        CheckedPage {
            leaves,
            problem: None,
            redacted: 0,
            last_redacted: None,
            roots,
        }
    })
}

/// A `kB` line of `/proc/self/status` (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

#[test]
fn rebuilding_a_million_leaves_keeps_the_frontier_not_the_leaves_heads_or_checkpoints() {
    // The last head's size, as storage reads it before the rebuild; the heads and checkpoints
    // themselves come with the pages.
    let expected = ExpectedRoots::build(&[], Some(LEAVES), &[]).unwrap();

    // Reset the peak to the current resident size (proc(5), "clear_refs"), then rebuild.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kib("VmRSS");
    let mut tree = Rebuild::new(&expected);
    for page in pages() {
        assert_eq!(tree.take(page).unwrap(), None);
    }
    assert_eq!(tree.finish(), None);
    assert_eq!(tree.checkpoints, LEAVES / CHECKPOINT_EVERY);
    let peak = status_kib("VmHWM");
    assert_eq!(tree.size(), LEAVES);
    let mut frontier = Frontier::new();
    (0..LEAVES).for_each(|i| frontier.push(leaf(i)).unwrap());
    assert_eq!(tree.root(), frontier.root());
    // The frontier is one hash per set bit of the size: at most 64, here 1 (2^20).
    assert_eq!(frontier.to_bytes().len(), 8 + 32);
    let grown = peak.saturating_sub(before);
    println!("rebuilt {LEAVES} leaves: resident {before} KiB before, peak {peak} KiB");
    assert!(
        grown <= ALLOWED_GROWTH_KIB,
        "rebuilding {LEAVES} leaves grew the resident memory by {grown} KiB (from {before} KiB): \
         it must hold the frontier, not the leaves, the heads nor the checkpoints"
    );
}
