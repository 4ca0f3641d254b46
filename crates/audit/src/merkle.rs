//! RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification, with SHA-256.
//!
//! Leaves are given as leaf hashes ([`leaf_hash`] of the canonical entry bytes), so the tree
//! code never sees entry contents.

use ring::digest;
use std::ops::Range;

use crate::AuditError;

/// A SHA-256 output: a leaf hash, a node hash or a tree root.
pub type Hash = [u8; 32];

/// RFC 9162 §2.1.1: the domain-separation prefixes that keep a leaf from passing as a node.
const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// A proof never holds more hashes than the tree has levels.
const MAX_PROOF_LEN: usize = 64;

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for part in parts {
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    // SHA-256 always yields 32 bytes; zip keeps this free of panicking paths.
    for (o, b) in out.iter_mut().zip(ctx.finish().as_ref()) {
        *o = *b;
    }
    out
}

/// RFC 9162 §2.1.1: the hash of an empty tree is the hash of the empty string.
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// RFC 9162 §2.1.1: `MTH({d}) = SHA-256(0x00 || d)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256(&[&[LEAF_PREFIX], data])
}

/// RFC 9162 §2.1.1: `SHA-256(0x01 || MTH(left) || MTH(right))`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[NODE_PREFIX], left, right])
}

/// RFC 9162 §2.1.1: splits `D[n]` (n ≥ 2) into `D[0:k]` and `D[k:n]`, k the largest power of two
/// smaller than n.
fn split(leaves: &[Hash]) -> (&[Hash], &[Hash]) {
    let k = largest_power_of_two_below(leaves.len() as u64);
    // k < n whenever n ≥ 2, so the fallback is never taken; it only avoids a panicking path.
    usize::try_from(k)
        .ok()
        .and_then(|k| leaves.split_at_checked(k))
        .unwrap_or((&[], leaves))
}

/// The largest power of two smaller than `n` (n ≥ 2); 0 below that.
fn largest_power_of_two_below(n: u64) -> u64 {
    if n < 2 {
        0
    } else {
        1 << (u64::BITS - 1 - (n - 1).leading_zeros())
    }
}

/// RFC 9162 §2.1.1: the Merkle Tree Hash of the given leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let (left, right) = split(leaves);
            node_hash(&root(left), &root(right))
        }
    }
}

fn to_index(value: u64, what: &'static str) -> Result<usize, AuditError> {
    usize::try_from(value).map_err(|_| AuditError::InvalidTreePosition(what))
}

/// RFC 9162 §2.1.3.1: the inclusion proof (audit path) of leaf `index` in the tree of `leaves`.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, AuditError> {
    inclusion_ranges(index, leaves.len() as u64)?
        .into_iter()
        .map(|range| {
            let from = to_index(range.start, "leaf index beyond the tree")?;
            let to = to_index(range.end, "leaf index beyond the tree")?;
            leaves
                .get(from..to)
                .map(root)
                .ok_or(AuditError::InvalidTreePosition(
                    "leaf index beyond the tree",
                ))
        })
        .collect()
}

/// RFC 9162 §2.1.3.1 `PATH(m, D[n])` as leaf ranges, bottom-up: the inclusion proof of leaf
/// `index` in a tree of `size` leaves is the Merkle Tree Hash of each range's leaves. A caller
/// that streams the leaves can so hash each range as it reads it, without holding the tree.
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<Range<u64>>, AuditError> {
    if index >= size {
        return Err(AuditError::InvalidTreePosition(
            "leaf index beyond the tree",
        ));
    }
    let mut ranges = Vec::new();
    path(index, 0..size, &mut ranges);
    Ok(ranges)
}

/// `PATH(m, D[range])`, bottom-up: the sibling subtree of every split on the way to leaf `m`
/// (counted from the range's start).
fn path(m: u64, range: Range<u64>, ranges: &mut Vec<Range<u64>>) {
    let n = range.end - range.start;
    if n <= 1 {
        return;
    }
    // RFC 9162 §2.1.1: k is the largest power of two smaller than n.
    let k = largest_power_of_two_below(n);
    let middle = range.start + k;
    if m < k {
        path(m, range.start..middle, ranges);
        ranges.push(middle..range.end);
    } else {
        path(m - k, middle..range.end, ranges);
        ranges.push(range.start..middle);
    }
}

/// RFC 9162 §2.1.4.1: proof that the first `old_size` leaves are a prefix of `leaves`.
///
/// Empty when `old_size` is 0 or the whole tree: those need no proof.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, AuditError> {
    let old_size = to_index(old_size, "old size beyond the tree")?;
    if old_size > leaves.len() {
        return Err(AuditError::InvalidTreePosition("old size beyond the tree"));
    }
    let mut proof = Vec::new();
    if old_size > 0 {
        subproof(old_size, leaves, true, &mut proof);
    }
    Ok(proof)
}

/// RFC 9162 §2.1.4.1 `SUBPROOF(m, D[n], b)`.
fn subproof(m: usize, leaves: &[Hash], whole_old_tree: bool, proof: &mut Vec<Hash>) {
    if m == leaves.len() {
        // The old tree's root is known to the verifier only when it is this very subtree.
        if !whole_old_tree {
            proof.push(root(leaves));
        }
        return;
    }
    let (left, right) = split(leaves);
    if m <= left.len() {
        subproof(m, left, whole_old_tree, proof);
        proof.push(root(right));
    } else {
        subproof(m - left.len(), right, false, proof);
        proof.push(root(left));
    }
}

/// Right-shifts both indices until `fnode` is odd or zero (RFC 9162 §2.1.3.2 step 4.b.iii,
/// §2.1.4.2 step 6.b.iii).
fn shift_while_even(fnode: &mut u64, snode: &mut u64) {
    while *fnode & 1 == 0 && *fnode != 0 {
        *fnode >>= 1;
        *snode >>= 1;
    }
}

/// RFC 9162 §2.1.3.2: checks that `leaf` is leaf `index` of the tree of `tree_size` leaves
/// whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), AuditError> {
    let fail = Err(AuditError::InclusionProofFailed);
    // Step 1.
    if index >= tree_size || proof.len() > MAX_PROOF_LEN {
        return fail;
    }
    // Steps 2-3; `fnode`/`snode` are the RFC's `fn`/`sn`.
    let (mut fnode, mut snode) = (index, tree_size - 1);
    let mut r = *leaf;
    // Step 4.
    for p in proof {
        if snode == 0 {
            return fail;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            shift_while_even(&mut fnode, &mut snode);
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 5.
    if snode == 0 && r == *root {
        Ok(())
    } else {
        fail
    }
}

/// RFC 9162 §2.1.4.2: checks that the tree `old_root` of `old_size` leaves is a prefix of the
/// tree `new_root` of `new_size` leaves.
///
/// Equal sizes need an empty proof and equal roots; an empty old tree needs an empty proof and
/// the empty-tree root (any tree extends it).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), AuditError> {
    let fail = Err(AuditError::ConsistencyProofFailed);
    if old_size > new_size || proof.len() > MAX_PROOF_LEN {
        return fail;
    }
    if old_size == new_size {
        return if proof.is_empty() && old_root == new_root {
            Ok(())
        } else {
            fail
        };
    }
    if old_size == 0 {
        return if proof.is_empty() && *old_root == empty_root() {
            Ok(())
        } else {
            fail
        };
    }
    // Step 1.
    if proof.is_empty() {
        return fail;
    }
    // Step 2: an old tree that is a perfect subtree is its own first path element.
    let mut path = proof.iter();
    let first = if old_size.is_power_of_two() {
        *old_root
    } else {
        match path.next() {
            Some(h) => *h,
            None => return fail,
        }
    };
    // Steps 3-4.
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // Steps 5-6.
    let (mut fr, mut sr) = (first, first);
    for c in path {
        if snode == 0 {
            return fail;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            shift_while_even(&mut fnode, &mut snode);
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 7.
    if fr == *old_root && sr == *new_root && snode == 0 {
        Ok(())
    } else {
        fail
    }
}

/// The right edge of a growing tree: the roots of its perfect subtrees, largest first.
///
/// It holds one hash per set bit of the size (at most 64), so storage can persist it between
/// batches and compute the next root in O(log n) per appended leaf without rereading the log.
/// The invariant `nodes.len() == size.count_ones()` is kept private.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) -> Result<(), AuditError> {
        let new_size = self
            .size
            .checked_add(1)
            .ok_or(AuditError::InvalidTreePosition("tree is full"))?;
        // Each trailing one bit of the old size is a perfect subtree that the new leaf
        // completes into a larger one, exactly like a binary carry.
        let mut node = leaf;
        let mut carry = self.size;
        while carry & 1 == 1 {
            let left = self.nodes.pop().ok_or(AuditError::MalformedFrontier(
                "fewer nodes than the size needs",
            ))?;
            node = node_hash(&left, &node);
            carry >>= 1;
        }
        self.nodes.push(node);
        self.size = new_size;
        Ok(())
    }

    /// The root of the tree so far: RFC 9162 §2.1.1 `MTH`, folding the subtrees right to left.
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        match nodes.next() {
            None => empty_root(),
            Some(last) => nodes.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }

    /// Stable form: the size as 8 big-endian bytes, then the subtree roots, largest first.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 32 * self.nodes.len());
        out.extend_from_slice(&self.size.to_be_bytes());
        for node in &self.nodes {
            out.extend_from_slice(node);
        }
        out
    }

    /// Parses [`Frontier::to_bytes`], checking the number of hashes against the size.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AuditError> {
        let (size, rest) = bytes
            .split_first_chunk::<8>()
            .ok_or(AuditError::MalformedFrontier("shorter than its size field"))?;
        let size = u64::from_be_bytes(*size);
        let (nodes, tail) = rest.as_chunks::<32>();
        if !tail.is_empty() || nodes.len() != size.count_ones() as usize {
            return Err(AuditError::MalformedFrontier(
                "hash count does not match the size",
            ));
        }
        Ok(Self {
            size,
            nodes: nodes.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// The leaves of the RFC 6962 reference tree used by certificate-transparency and
    /// transparency-dev/merkle (`proof/verify_test.go`).
    fn reference_leaves() -> Vec<Hash> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|d| leaf_hash(&hex::decode(d).unwrap()))
        .collect()
    }

    /// Roots of the first 1..=8 reference leaves.
    const REFERENCE_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn reference_root(size: u64) -> Hash {
        h(REFERENCE_ROOTS[size as usize - 1])
    }

    /// (leaf index, tree size, proof).
    fn reference_inclusion_proofs() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (0, 1, vec![]),
            (
                0,
                8,
                vec![
                    h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
                ],
            ),
            (
                5,
                8,
                vec![
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                    h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
            (
                2,
                3,
                vec![h(
                    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                )],
            ),
            (
                1,
                5,
                vec![
                    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                ],
            ),
        ]
    }

    /// (old size, new size, proof).
    fn reference_consistency_proofs() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (1, 1, vec![]),
            (
                1,
                8,
                vec![
                    h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
                ],
            ),
            (
                6,
                8,
                vec![
                    h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                    h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
            (
                2,
                5,
                vec![
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                ],
            ),
            (
                6,
                7,
                vec![
                    h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                    h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
        ]
    }

    #[test]
    fn empty_tree_root_is_sha256_of_nothing() {
        let want = h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(empty_root(), want);
        assert_eq!(root(&[]), want);
        assert_eq!(Frontier::new().root(), want);
    }

    #[test]
    fn reference_roots_match() {
        let leaves = reference_leaves();
        let mut frontier = Frontier::new();
        for size in 1..=8u64 {
            let prefix = &leaves[..size as usize];
            assert_eq!(root(prefix), reference_root(size), "size {size}");
            frontier.push(prefix[size as usize - 1]).unwrap();
            assert_eq!(
                frontier.root(),
                reference_root(size),
                "frontier size {size}"
            );
        }
    }

    #[test]
    fn reference_inclusion_proofs_are_generated_and_verify() {
        let leaves = reference_leaves();
        for (index, size, want) in reference_inclusion_proofs() {
            let tree = &leaves[..size as usize];
            assert_eq!(
                inclusion_proof(tree, index).unwrap(),
                want,
                "{index}/{size}"
            );
            let leaf = &leaves[index as usize];
            verify_inclusion(leaf, index, size, &want, &reference_root(size)).unwrap();
        }
    }

    #[test]
    fn reference_consistency_proofs_are_generated_and_verify() {
        let leaves = reference_leaves();
        for (old, new, want) in reference_consistency_proofs() {
            let tree = &leaves[..new as usize];
            assert_eq!(consistency_proof(tree, old).unwrap(), want, "{old}->{new}");
            verify_consistency(old, new, &reference_root(old), &reference_root(new), &want)
                .unwrap();
        }
    }

    /// The corruptions of transparency-dev/merkle's `corruptInclusionProof`, each rejected.
    #[test]
    fn corrupted_reference_inclusion_proofs_fail() {
        let leaves = reference_leaves();
        let some_hash = h("abacaba000000000000000000000000000000000000000000060061e00123456");
        for (index, size, proof) in reference_inclusion_proofs() {
            let root = reference_root(size);
            let leaf = leaves[index as usize];
            let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
                (index.wrapping_sub(1), size, leaf, root, proof.clone()),
                (index + 1, size, leaf, root, proof.clone()),
                (index ^ 2, size, leaf, root, proof.clone()),
                (index, size * 2, leaf, root, proof.clone()),
                (index, size / 2, leaf, root, proof.clone()),
                (index, size, leaf_hash(b"WrongLeaf"), root, proof.clone()),
                (index, size, leaf, empty_root(), proof.clone()),
                (index, size, leaf, some_hash, proof.clone()),
                (
                    index,
                    size,
                    leaf,
                    root,
                    [proof.clone(), vec![root]].concat(),
                ),
                (
                    index,
                    size,
                    leaf,
                    root,
                    [vec![root], proof.clone()].concat(),
                ),
            ];
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i][0] ^= 8;
                probes.push((index, size, leaf, root, bad));
            }
            if let Some((_, shorter)) = proof.split_last() {
                probes.push((index, size, leaf, root, shorter.to_vec()));
            }
            if proof.len() > 1 {
                let inserted = [&proof[..1], &[some_hash], &proof[1..]].concat();
                probes.push((index, size, leaf, root, inserted));
            }
            for (n, (i, s, l, r, p)) in probes.iter().enumerate() {
                assert_eq!(
                    verify_inclusion(l, *i, *s, p, r),
                    Err(AuditError::InclusionProofFailed),
                    "probe {n} for {index}/{size}"
                );
            }
        }
    }

    /// The corruptions of transparency-dev/merkle's `corruptConsistencyProof`, each rejected.
    #[test]
    fn corrupted_reference_consistency_proofs_fail() {
        for (old, new, proof) in reference_consistency_proofs() {
            if proof.is_empty() {
                continue;
            }
            let (r1, r2) = (reference_root(old), reference_root(new));
            let wrong = leaf_hash(b"WrongRoot");
            let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
                (old - 1, new, r1, r2, proof.clone()),
                (old + 1, new, r1, r2, proof.clone()),
                (old ^ 2, new, r1, r2, proof.clone()),
                (old, new * 2, r1, r2, proof.clone()),
                (old, new / 2, r1, r2, proof.clone()),
                (old, new, wrong, r2, proof.clone()),
                (old, new, r1, wrong, proof.clone()),
                (old, new, r2, r1, proof.clone()),
                (old, new, r1, r2, vec![]),
                (old, new, r1, r2, [proof.clone(), vec![r1]].concat()),
                (old, new, r1, r2, [proof.clone(), vec![r2]].concat()),
                (old, new, r1, r2, [vec![r1], proof.clone()].concat()),
                (old, new, r1, r2, [vec![r2], proof.clone()].concat()),
                (old, new, r1, r2, [vec![proof[0]], proof.clone()].concat()),
                (old, new, r1, r2, proof[..proof.len() - 1].to_vec()),
            ];
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i][0] ^= 16;
                probes.push((old, new, r1, r2, bad));
            }
            for (n, (o, s, a, b, p)) in probes.iter().enumerate() {
                assert_eq!(
                    verify_consistency(*o, *s, a, b, p),
                    Err(AuditError::ConsistencyProofFailed),
                    "probe {n} for {old}->{new}"
                );
            }
        }
    }

    #[test]
    fn degenerate_consistency_cases() {
        let leaves = reference_leaves();
        let (r1, r8) = (reference_root(1), reference_root(8));
        let e = empty_root();
        // Any tree extends the empty tree, whose root is fixed.
        verify_consistency(0, 8, &e, &r8, &[]).unwrap();
        assert!(verify_consistency(0, 8, &r1, &r8, &[]).is_err());
        assert!(verify_consistency(0, 8, &e, &r8, &[e]).is_err());
        verify_consistency(0, 0, &e, &e, &[]).unwrap();
        // Same size: same root, no proof.
        verify_consistency(8, 8, &r8, &r8, &[]).unwrap();
        assert!(verify_consistency(8, 8, &r8, &r1, &[]).is_err());
        assert!(verify_consistency(8, 8, &r8, &r8, &[r8]).is_err());
        // No time travel.
        assert!(verify_consistency(8, 1, &r8, &r1, &[]).is_err());
        assert_eq!(consistency_proof(&leaves, 0).unwrap(), Vec::<Hash>::new());
        assert!(consistency_proof(&leaves, 9).is_err());
        assert!(inclusion_proof(&leaves, 8).is_err());
        assert!(inclusion_proof(&[], 0).is_err());
    }

    #[test]
    fn inclusion_rejects_out_of_range_and_overlong_proofs() {
        let leaf = leaf_hash(b"data");
        verify_inclusion(&leaf, 0, 1, &[], &leaf).unwrap();
        assert!(verify_inclusion(&leaf, 1, 1, &[], &leaf).is_err());
        assert!(verify_inclusion(&leaf, 0, 0, &[], &leaf).is_err());
        assert!(verify_inclusion(&leaf, 0, u64::MAX, &[leaf; 65], &leaf).is_err());
        assert!(verify_inclusion(&leaf, 0, 1, &[leaf], &leaf).is_err());
    }

    #[test]
    fn frontier_bytes_round_trip_and_reject_mismatched_lengths() {
        let mut frontier = Frontier::new();
        for i in 0..13u8 {
            frontier.push(leaf_hash(&[i])).unwrap();
        }
        let bytes = frontier.to_bytes();
        assert_eq!(bytes.len(), 8 + 3 * 32); // 13 = 0b1101
        assert_eq!(Frontier::from_bytes(&bytes).unwrap(), frontier);
        assert_eq!(
            Frontier::from_bytes(&Frontier::new().to_bytes()).unwrap(),
            Frontier::new()
        );
        assert!(Frontier::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(Frontier::from_bytes(&bytes[..bytes.len() - 32]).is_err());
        assert!(Frontier::from_bytes(&[bytes.clone(), vec![0; 32]].concat()).is_err());
        assert!(Frontier::from_bytes(&bytes[..7]).is_err());
        let mut wrong_size = bytes.clone();
        wrong_size[7] = 14; // 0b1110 also has three bits but is a different tree
        let other = Frontier::from_bytes(&wrong_size).unwrap();
        assert_ne!(other.size(), frontier.size());
    }

    #[test]
    fn full_frontier_refuses_to_grow() {
        let mut frontier = Frontier {
            size: u64::MAX,
            nodes: vec![[0; 32]; 64],
        };
        assert!(frontier.push([0; 32]).is_err());
    }

    fn leaves_strategy(max: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..16), 1..max)
    }

    fn hashes(data: &[Vec<u8>]) -> Vec<Hash> {
        data.iter().map(|d| leaf_hash(d)).collect()
    }

    type Ct = ct_merkle::mem_backed_tree::MemoryBackedTree<sha2::Sha256, Vec<u8>>;

    fn ct_tree(data: &[Vec<u8>]) -> Ct {
        let mut t = Ct::new();
        for d in data {
            t.push(d.clone());
        }
        t
    }

    fn flatten(proof: &[Hash]) -> Vec<u8> {
        proof.concat()
    }

    proptest! {
        #[test]
        fn every_inclusion_proof_verifies(data in leaves_strategy(70)) {
            let leaves = hashes(&data);
            let size = leaves.len() as u64;
            let r = root(&leaves);
            for (i, leaf) in leaves.iter().enumerate() {
                let proof = inclusion_proof(&leaves, i as u64).unwrap();
                prop_assert!(verify_inclusion(leaf, i as u64, size, &proof, &r).is_ok());
            }
        }

        #[test]
        fn every_consistency_proof_verifies(data in leaves_strategy(70)) {
            let leaves = hashes(&data);
            let new_root = root(&leaves);
            let new_size = leaves.len() as u64;
            for old in 0..=leaves.len() {
                let proof = consistency_proof(&leaves, old as u64).unwrap();
                let old_root = root(&leaves[..old]);
                prop_assert!(
                    verify_consistency(old as u64, new_size, &old_root, &new_root, &proof).is_ok()
                );
            }
        }

        #[test]
        fn frontier_root_matches_every_prefix(data in leaves_strategy(200)) {
            let leaves = hashes(&data);
            let mut frontier = Frontier::new();
            for (i, leaf) in leaves.iter().enumerate() {
                frontier.push(*leaf).unwrap();
                prop_assert_eq!(frontier.size(), i as u64 + 1);
                prop_assert_eq!(frontier.root(), root(&leaves[..=i]));
                let reread = Frontier::from_bytes(&frontier.to_bytes()).unwrap();
                prop_assert_eq!(&reread, &frontier);
            }
        }

        #[test]
        fn matches_ct_merkle(data in leaves_strategy(70), pick in any::<prop::sample::Index>()) {
            let leaves = hashes(&data);
            let ct = ct_tree(&data);
            prop_assert_eq!(ct.root().as_bytes().to_vec(), root(&leaves).to_vec());

            let index = pick.index(leaves.len());
            let ours = inclusion_proof(&leaves, index as u64).unwrap();
            prop_assert_eq!(ct.prove_inclusion(index).as_bytes().to_vec(), flatten(&ours));

            // ct-merkle proves "the last `additions` leaves were appended".
            let old = pick.index(leaves.len()) + 1;
            let additions = leaves.len() - old;
            if additions > 0 {
                let ours = consistency_proof(&leaves, old as u64).unwrap();
                prop_assert_eq!(
                    ct.prove_consistency(additions).as_bytes().to_vec(),
                    flatten(&ours)
                );
                // And ct-merkle accepts our proof.
                let old_root = ct_merkle::RootHash::<sha2::Sha256>::new(
                    root(&leaves[..old]).into(),
                    old as u64,
                );
                let proof = ct_merkle::ConsistencyProof::<sha2::Sha256>::try_from_bytes(flatten(&ours))
                    .unwrap();
                prop_assert!(ct.root().verify_consistency(&old_root, &proof).is_ok());
            }
        }

        #[test]
        fn any_flipped_bit_breaks_inclusion(
            data in leaves_strategy(70),
            pick in any::<prop::sample::Index>(),
            target in 0usize..3,
            element in any::<prop::sample::Index>(),
            bit in 0usize..256,
        ) {
            let mut leaves = hashes(&data);
            let index = pick.index(leaves.len());
            let mut proof = inclusion_proof(&leaves, index as u64).unwrap();
            let mut r = root(&leaves);
            let flip = |h: &mut Hash| h[bit / 8] ^= 1 << (bit % 8);
            match target {
                0 if !proof.is_empty() => {
                    let e = element.index(proof.len());
                    flip(&mut proof[e]);
                }
                1 => flip(&mut r),
                _ => flip(&mut leaves[index]),
            }
            prop_assert_eq!(
                verify_inclusion(&leaves[index], index as u64, data.len() as u64, &proof, &r),
                Err(AuditError::InclusionProofFailed)
            );
        }

        #[test]
        fn any_flipped_bit_breaks_consistency(
            data in leaves_strategy(70),
            pick in any::<prop::sample::Index>(),
            target in 0usize..3,
            element in any::<prop::sample::Index>(),
            bit in 0usize..256,
        ) {
            let leaves = hashes(&data);
            let old = pick.index(leaves.len()) + 1;
            let new = leaves.len();
            let mut proof = consistency_proof(&leaves, old as u64).unwrap();
            let (mut r1, mut r2) = (root(&leaves[..old]), root(&leaves));
            let flip = |h: &mut Hash| h[bit / 8] ^= 1 << (bit % 8);
            match target {
                0 if !proof.is_empty() => {
                    let e = element.index(proof.len());
                    flip(&mut proof[e]);
                }
                1 => flip(&mut r1),
                _ => flip(&mut r2),
            }
            prop_assert_eq!(
                verify_consistency(old as u64, new as u64, &r1, &r2, &proof),
                Err(AuditError::ConsistencyProofFailed)
            );
        }
    }
}
