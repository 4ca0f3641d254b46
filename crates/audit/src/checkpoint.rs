//! C2SP tlog-checkpoint (<https://c2sp.org/tlog-checkpoint>): the signed statement "the log
//! `origin` had `size` entries with root `root`".

use crate::AuditError;
use crate::merkle::Hash;
use crate::note::{self, SignerKey, VerifierKey, decode_base64, encode_base64};

/// A tree head: what a signed checkpoint commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `aidantsconnect.example/audit`. Also the signing key's name.
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// tlog-checkpoint "Note text": `origin`, decimal size, base64 root, each ending in a
    /// newline. We write no extension lines.
    pub fn to_note_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            encode_base64(&self.root)
        )
    }

    /// Parses a note text strictly: exactly three lines, a size without leading zeros, a
    /// canonical base64 32-byte root. Extension lines are refused: we never write them, and
    /// an auditor should see nothing the log did not commit to in its root.
    pub fn from_note_text(text: &str) -> Result<Self, AuditError> {
        let malformed = AuditError::MalformedCheckpoint;
        let body = text
            .strip_suffix('\n')
            .ok_or(malformed("must end with a newline"))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root), None) =
            (lines.next(), lines.next(), lines.next(), lines.next())
        else {
            return Err(malformed("expected exactly origin, size and root lines"));
        };
        if origin.is_empty() {
            return Err(malformed("empty origin"));
        }
        // tlog-checkpoint: "ASCII decimal ... with no leading zeroes".
        let canonical_decimal =
            size.bytes().all(|b| b.is_ascii_digit()) && (size == "0" || !size.starts_with('0'));
        let size = size
            .parse::<u64>()
            .ok()
            .filter(|_| canonical_decimal)
            .ok_or(malformed("size is not a canonical decimal"))?;
        let root = decode_base64(root)
            .and_then(|r| Hash::try_from(r).ok())
            .ok_or(malformed("root is not canonical base64 of 32 bytes"))?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// Signs this checkpoint as a note. The key's name must be the origin (tlog-checkpoint
    /// "Signatures": the key name SHOULD match the origin; we require it, see [`Self::verify`]).
    pub fn sign(&self, key: &SignerKey) -> Result<String, AuditError> {
        if self.origin != key.name() {
            return Err(AuditError::OriginMismatch);
        }
        note::sign_note(&self.to_note_text(), key)
    }

    /// Verifies a signed checkpoint and returns it.
    ///
    /// Beyond a valid signature from a trusted key, that key's name must be the origin: a
    /// key trusted for one log then cannot vouch for a checkpoint naming another.
    pub fn verify(signed: &str, verifiers: &[VerifierKey]) -> Result<Self, AuditError> {
        let verified = note::verify_note(signed, verifiers)?;
        let checkpoint = Self::from_note_text(&verified.text)?;
        if !verified
            .signed_by
            .iter()
            .any(|k| k.name() == checkpoint.origin)
        {
            return Err(AuditError::OriginMismatch);
        }
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{empty_root, leaf_hash};
    use ring::rand::SystemRandom;

    const ORIGIN: &str = "audit.aidantsconnect.example";

    fn key(name: &str) -> SignerKey {
        SignerKey::generate(name, &SystemRandom::new()).unwrap()
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.into(),
            size: 20852163,
            root: leaf_hash(b"x"),
        }
    }

    #[test]
    fn text_form_matches_the_spec_example_shape() {
        // The root from the tlog-checkpoint example.
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::from_note_text(text).unwrap();
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20852163);
        assert_eq!(cp.to_note_text(), text);

        let empty = Checkpoint {
            origin: ORIGIN.into(),
            size: 0,
            root: empty_root(),
        };
        assert_eq!(
            empty.to_note_text(),
            format!("{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
        );
    }

    #[test]
    fn malformed_texts_are_rejected() {
        let good = checkpoint().to_note_text();
        let root_line = good.lines().nth(2).unwrap().to_owned();
        let bad = [
            good.trim_end().to_owned(),
            good.replace("20852163", "020852163"),
            good.replace("20852163", "+20852163"),
            good.replace("20852163", "-1"),
            good.replace("20852163", "18446744073709551616"),
            good.replace("20852163", ""),
            good.replace(ORIGIN, ""),
            good.replace(&root_line, &root_line[..root_line.len() - 1]),
            good.replace(&root_line, "AAAA"),
            format!("{good}extension\n"),
            format!("{good}\n"),
            "a\n1\n".into(),
        ];
        for text in &bad {
            assert_eq!(
                Checkpoint::from_note_text(text).unwrap_err().code(),
                "AUD026",
                "{text:?}"
            );
        }
        assert_eq!(
            Checkpoint::from_note_text(&good.replace("20852163", "0"))
                .unwrap()
                .size,
            0
        );
    }

    #[test]
    fn signed_checkpoint_round_trips() {
        let k = key(ORIGIN);
        let signed = checkpoint().sign(&k).unwrap();
        assert!(signed.starts_with(&checkpoint().to_note_text()));
        assert_eq!(
            Checkpoint::verify(&signed, &[k.verifier()]).unwrap(),
            checkpoint()
        );
    }

    #[test]
    fn forged_or_altered_checkpoints_fail() {
        let k = key(ORIGIN);
        let signed = checkpoint().sign(&k).unwrap();

        // Signed by another key with the same name: unknown to the verifier.
        let forger = key(ORIGIN);
        let forged = checkpoint().sign(&forger).unwrap();
        assert_eq!(
            Checkpoint::verify(&forged, &[k.verifier()]).unwrap_err(),
            AuditError::NoKnownSignature
        );

        // Size or root changed after signing.
        let bigger = signed.replacen("20852163", "20852164", 1);
        assert_eq!(
            Checkpoint::verify(&bigger, &[k.verifier()])
                .unwrap_err()
                .code(),
            "AUD023"
        );
        let other_root = encode_base64(&leaf_hash(b"y"));
        let rerooted = signed.replacen(&encode_base64(&leaf_hash(b"x")), &other_root, 1);
        assert_eq!(
            Checkpoint::verify(&rerooted, &[k.verifier()])
                .unwrap_err()
                .code(),
            "AUD023"
        );
    }

    #[test]
    fn a_key_only_vouches_for_its_own_origin() {
        let k = key("other.example/log");
        assert_eq!(
            checkpoint().sign(&k).unwrap_err(),
            AuditError::OriginMismatch
        );
        // Even a note signed by a trusted key fails when the origin names another log.
        let note = note::sign_note(&checkpoint().to_note_text(), &k).unwrap();
        assert_eq!(
            Checkpoint::verify(&note, &[k.verifier()]).unwrap_err(),
            AuditError::OriginMismatch
        );
    }

    #[test]
    fn rotation_old_and_new_keys_both_verify() {
        let (old, new) = (key(ORIGIN), key(ORIGIN));
        let trusted = [old.verifier(), new.verifier()];
        for k in [&old, &new] {
            let signed = checkpoint().sign(k).unwrap();
            assert_eq!(Checkpoint::verify(&signed, &trusted).unwrap(), checkpoint());
        }
    }
}
