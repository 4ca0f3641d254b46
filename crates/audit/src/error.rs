//! The crate's one error type. Codes are stable: tools and runbooks match on them.

/// Everything that can go wrong in the audit core.
///
/// Messages carry a stable code and a fixed reason, never the rejected input, so they can be
/// logged as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("{code} invalid entry field `{field}`: {reason}", code = self.code())]
    InvalidEntry {
        field: &'static str,
        reason: &'static str,
    },
    #[error("{code} entry bytes are not the canonical encoding: {0}", code = self.code())]
    NonCanonicalEntry(&'static str),
    #[error("{code} entry timestamp cannot be encoded canonically: {0}", code = self.code())]
    InvalidTimestamp(&'static str),
    #[error("{code} invalid tree position: {0}", code = self.code())]
    InvalidTreePosition(&'static str),
    #[error("{code} inclusion proof does not verify", code = self.code())]
    InclusionProofFailed,
    #[error("{code} consistency proof does not verify", code = self.code())]
    ConsistencyProofFailed,
    #[error("{code} malformed frontier: {0}", code = self.code())]
    MalformedFrontier(&'static str),
    #[error("{code} malformed key: {0}", code = self.code())]
    MalformedKey(&'static str),
    #[error("{code} the system random generator failed", code = self.code())]
    RandomFailed,
    #[error("{code} malformed signed note: {0}", code = self.code())]
    MalformedNote(&'static str),
    #[error("{code} invalid signature for key {name}+{id:08x}", code = self.code())]
    InvalidSignature { name: String, id: u32 },
    #[error("{code} ambiguous verifier key {name}+{id:08x}", code = self.code())]
    AmbiguousKey { name: String, id: u32 },
    #[error("{code} note has no valid signature from a known key", code = self.code())]
    NoKnownSignature,
    #[error("{code} malformed checkpoint: {0}", code = self.code())]
    MalformedCheckpoint(&'static str),
    #[error("{code} checkpoint origin does not match the signing key name", code = self.code())]
    OriginMismatch,
    #[error("{code} malformed inclusion bundle: {0}", code = self.code())]
    MalformedBundle(&'static str),
    #[error("{code} inclusion bundle is inconsistent: {0}", code = self.code())]
    BundleMismatch(&'static str),
}

impl AuditError {
    /// The stable code, e.g. `"AUD011"`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidEntry { .. } => "AUD001",
            Self::NonCanonicalEntry(_) => "AUD002",
            Self::InvalidTimestamp(_) => "AUD003",
            Self::InvalidTreePosition(_) => "AUD010",
            Self::InclusionProofFailed => "AUD011",
            Self::ConsistencyProofFailed => "AUD012",
            Self::MalformedFrontier(_) => "AUD013",
            Self::MalformedKey(_) => "AUD020",
            Self::RandomFailed => "AUD021",
            Self::MalformedNote(_) => "AUD022",
            Self::InvalidSignature { .. } => "AUD023",
            Self::AmbiguousKey { .. } => "AUD024",
            Self::NoKnownSignature => "AUD025",
            Self::MalformedCheckpoint(_) => "AUD026",
            Self::OriginMismatch => "AUD027",
            Self::MalformedBundle(_) => "AUD030",
            Self::BundleMismatch(_) => "AUD031",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_starts_with_its_code() {
        let all = [
            AuditError::InvalidEntry {
                field: "f",
                reason: "r",
            },
            AuditError::NonCanonicalEntry("r"),
            AuditError::InvalidTimestamp("r"),
            AuditError::InvalidTreePosition("r"),
            AuditError::InclusionProofFailed,
            AuditError::ConsistencyProofFailed,
            AuditError::MalformedFrontier("r"),
            AuditError::MalformedKey("r"),
            AuditError::RandomFailed,
            AuditError::MalformedNote("r"),
            AuditError::InvalidSignature {
                name: "n".into(),
                id: 1,
            },
            AuditError::AmbiguousKey {
                name: "n".into(),
                id: 1,
            },
            AuditError::NoKnownSignature,
            AuditError::MalformedCheckpoint("r"),
            AuditError::OriginMismatch,
            AuditError::MalformedBundle("r"),
            AuditError::BundleMismatch("r"),
        ];
        let mut codes: Vec<_> = all.iter().map(AuditError::code).collect();
        for e in &all {
            assert!(e.to_string().starts_with(&format!("{} ", e.code())), "{e}");
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len(), "codes must be unique");
    }
}
