//! An inclusion bundle: everything an outsider needs, with only the log's public key, to check
//! that one entry is in the log (`audit prove SEQ` writes it, `audit verify-proof FILE` checks
//! it).

use serde::{Deserialize, Serialize};

use crate::AuditError;
use crate::checkpoint::Checkpoint;
use crate::entry::Entry;
use crate::merkle::{self, Hash};
use crate::note::VerifierKey;

/// A tree of 2^64 leaves has 64 levels; no valid proof is longer.
const MAX_PROOF_HASHES: usize = 64;

/// JSON form of an inclusion proof, self-contained and offline-verifiable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionBundle {
    /// The entry's canonical JSON text: its leaf hash is computed from exactly these bytes.
    pub entry: String,
    pub seq: u64,
    pub tree_size: u64,
    /// RFC 9162 §2.1.3.1 audit path, lower-case hex, bottom-up.
    pub proof: Vec<String>,
    /// The signed checkpoint (C2SP signed note) whose root the proof leads to.
    pub checkpoint: String,
}

/// What a bundle proves once verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedInclusion {
    pub entry: Entry,
    pub checkpoint: Checkpoint,
}

impl InclusionBundle {
    /// Assembles a bundle; `proof` must come from [`merkle::inclusion_proof`] for `entry.seq`
    /// in the tree that `signed_checkpoint` signs.
    pub fn new(
        entry: &Entry,
        tree_size: u64,
        proof: &[Hash],
        signed_checkpoint: String,
    ) -> Result<Self, AuditError> {
        let bytes = entry.canonical_bytes()?;
        let entry_text = String::from_utf8(bytes)
            .map_err(|_| AuditError::NonCanonicalEntry("canonical bytes are not UTF-8"))?;
        Ok(Self {
            entry: entry_text,
            seq: entry.seq,
            tree_size,
            proof: proof.iter().map(hex::encode).collect(),
            checkpoint: signed_checkpoint,
        })
    }
}

fn decode_hash(text: &str) -> Option<Hash> {
    let mut hash = [0u8; 32];
    // One spelling per hash: 64 lower-case hex digits.
    let lower = text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (lower && hex::decode_to_slice(text, &mut hash).is_ok()).then_some(hash)
}

/// Checks a bundle with only the trusted public keys.
///
/// In order: the checkpoint signature (nothing else is trusted before it), that the bundle's
/// tree size is the checkpoint's, that the entry is canonical and carries the bundle's `seq`,
/// then RFC 9162 §2.1.3.2 inclusion of the entry's leaf hash under the checkpoint root.
pub fn verify_bundle(
    bundle: &InclusionBundle,
    verifiers: &[VerifierKey],
) -> Result<VerifiedInclusion, AuditError> {
    let checkpoint = Checkpoint::verify(&bundle.checkpoint, verifiers)?;
    if bundle.tree_size != checkpoint.size {
        return Err(AuditError::BundleMismatch(
            "tree size differs from the checkpoint",
        ));
    }
    let entry = Entry::from_canonical_bytes(bundle.entry.as_bytes())?;
    if entry.seq != bundle.seq {
        return Err(AuditError::BundleMismatch(
            "entry seq differs from the bundle",
        ));
    }
    if bundle.proof.len() > MAX_PROOF_HASHES {
        return Err(AuditError::MalformedBundle("proof longer than 64 hashes"));
    }
    let proof = bundle
        .proof
        .iter()
        .map(|h| decode_hash(h))
        .collect::<Option<Vec<_>>>()
        .ok_or(AuditError::MalformedBundle(
            "proof hash is not 64 lower-case hex digits",
        ))?;
    let leaf = merkle::leaf_hash(bundle.entry.as_bytes());
    merkle::verify_inclusion(&leaf, entry.seq, checkpoint.size, &proof, &checkpoint.root)?;
    Ok(VerifiedInclusion { entry, checkpoint })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Action;
    use crate::entry::Actor;
    use crate::merkle::{inclusion_proof, root};
    use crate::note::SignerKey;
    use ring::rand::SystemRandom;
    use std::collections::BTreeMap;
    use time::macros::datetime;

    const ORIGIN: &str = "audit.aidantsconnect.example";

    fn entry(seq: u64) -> Entry {
        Entry {
            seq,
            at: datetime!(2025-03-01 09:30:00 UTC) + time::Duration::seconds(seq as i64),
            action: Action::AuthorizationCreated,
            actor: Actor::aidant(format!("aid_{}", seq % 3)),
            organisation_id: Some("org_1".into()),
            usager: Some(format!("psd_{seq}")),
            demarche: Some("social".into()),
            client_id: None,
            target: Some(format!("auth_{seq}")),
            request_id: None,
            details: BTreeMap::new(),
        }
    }

    struct Log {
        key: SignerKey,
        entries: Vec<Entry>,
        leaves: Vec<Hash>,
        signed: String,
    }

    fn log(size: u64) -> Log {
        let key = SignerKey::generate(ORIGIN, &SystemRandom::new()).unwrap();
        let entries: Vec<_> = (0..size).map(entry).collect();
        let leaves: Vec<_> = entries.iter().map(|e| e.leaf_hash().unwrap()).collect();
        let signed = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: root(&leaves),
        }
        .sign(&key)
        .unwrap();
        Log {
            key,
            entries,
            leaves,
            signed,
        }
    }

    fn bundle(log: &Log, seq: u64) -> InclusionBundle {
        let proof = inclusion_proof(&log.leaves, seq).unwrap();
        InclusionBundle::new(
            &log.entries[seq as usize],
            log.leaves.len() as u64,
            &proof,
            log.signed.clone(),
        )
        .unwrap()
    }

    #[test]
    fn every_bundle_verifies_after_a_json_round_trip() {
        let log = log(11);
        for seq in 0..11 {
            let json = serde_json::to_string(&bundle(&log, seq)).unwrap();
            let parsed: InclusionBundle = serde_json::from_str(&json).unwrap();
            let v = verify_bundle(&parsed, &[log.key.verifier()]).unwrap();
            assert_eq!(v.entry, log.entries[seq as usize]);
            assert_eq!(v.checkpoint.size, 11);
        }
    }

    #[test]
    fn one_flipped_proof_hash_is_detected() {
        let log = log(11);
        let good = bundle(&log, 6);
        for i in 0..good.proof.len() {
            let mut b = good.clone();
            let mut h = decode_hash(&b.proof[i]).unwrap();
            h[31] ^= 1;
            b.proof[i] = hex::encode(h);
            assert_eq!(
                verify_bundle(&b, &[log.key.verifier()]).unwrap_err(),
                AuditError::InclusionProofFailed
            );
        }
    }

    #[test]
    fn checkpoint_signed_by_another_key_is_detected() {
        let log = log(11);
        let forger = SignerKey::generate(ORIGIN, &SystemRandom::new()).unwrap();
        let mut b = bundle(&log, 3);
        b.checkpoint = Checkpoint::verify(&log.signed, &[log.key.verifier()])
            .unwrap()
            .sign(&forger)
            .unwrap();
        assert_eq!(
            verify_bundle(&b, &[log.key.verifier()]).unwrap_err(),
            AuditError::NoKnownSignature
        );
    }

    #[test]
    fn modified_entry_is_detected() {
        let log = log(11);
        let good = bundle(&log, 4);
        // Canonically re-encoded with another value: a different leaf.
        let mut altered = log.entries[4].clone();
        altered.usager = Some("psd_someone_else".into());
        let mut b = good.clone();
        b.entry = String::from_utf8(altered.canonical_bytes().unwrap()).unwrap();
        assert_eq!(
            verify_bundle(&b, &[log.key.verifier()]).unwrap_err(),
            AuditError::InclusionProofFailed
        );
        // Same facts, another spelling: refused before hashing.
        let mut b = good.clone();
        b.entry = b.entry.replacen(',', ", ", 1);
        assert_eq!(
            verify_bundle(&b, &[log.key.verifier()]).unwrap_err().code(),
            "AUD002"
        );
    }

    #[test]
    fn wrong_seq_is_detected() {
        let log = log(11);
        let good = bundle(&log, 4);
        // The bundle claims another position than the entry.
        let mut b = good.clone();
        b.seq = 5;
        assert_eq!(
            verify_bundle(&b, &[log.key.verifier()]).unwrap_err(),
            AuditError::BundleMismatch("entry seq differs from the bundle")
        );
        // The entry is rewritten to claim another position, consistently with the bundle.
        let mut moved = log.entries[4].clone();
        moved.seq = 5;
        let mut b = good.clone();
        b.entry = String::from_utf8(moved.canonical_bytes().unwrap()).unwrap();
        b.seq = 5;
        assert_eq!(
            verify_bundle(&b, &[log.key.verifier()]).unwrap_err(),
            AuditError::InclusionProofFailed
        );
        // Entry 4's true proof presented for position 5 also fails.
        let mut b = good.clone();
        b.proof = bundle(&log, 5).proof;
        assert_eq!(
            verify_bundle(&b, &[log.key.verifier()]).unwrap_err(),
            AuditError::InclusionProofFailed
        );
    }

    #[test]
    fn tree_size_and_shape_are_checked() {
        let log = log(11);
        let good = bundle(&log, 4);
        let verifiers = [log.key.verifier()];

        let mut b = good.clone();
        b.tree_size = 12;
        assert_eq!(verify_bundle(&b, &verifiers).unwrap_err().code(), "AUD031");

        let mut b = good.clone();
        b.proof[0] = b.proof[0].to_uppercase();
        assert_eq!(verify_bundle(&b, &verifiers).unwrap_err().code(), "AUD030");

        let mut b = good.clone();
        b.proof.push(b.proof[0].clone());
        assert_eq!(verify_bundle(&b, &verifiers).unwrap_err().code(), "AUD011");

        let mut b = good.clone();
        b.proof = vec![b.proof[0].clone(); 65];
        assert_eq!(verify_bundle(&b, &verifiers).unwrap_err().code(), "AUD030");

        let mut b = good.clone();
        b.proof.pop();
        assert_eq!(verify_bundle(&b, &verifiers).unwrap_err().code(), "AUD011");

        let json = serde_json::to_value(&good).unwrap();
        let mut extra = json.clone();
        extra["note"] = "x".into();
        assert!(serde_json::from_value::<InclusionBundle>(extra).is_err());
    }

    #[test]
    fn entry_past_the_checkpoint_is_refused() {
        // A bundle against an older checkpoint that does not contain the entry yet.
        let log = log(11);
        let older = Checkpoint {
            origin: ORIGIN.into(),
            size: 4,
            root: root(&log.leaves[..4]),
        }
        .sign(&log.key)
        .unwrap();
        let mut b = bundle(&log, 6);
        b.checkpoint = older;
        b.tree_size = 4;
        assert_eq!(
            verify_bundle(&b, &[log.key.verifier()]).unwrap_err(),
            AuditError::InclusionProofFailed
        );
    }
}
