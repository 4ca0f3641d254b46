//! The crate's one error type. Codes are stable: tools and runbooks match on them.

/// Everything that can go wrong in the audit core.
///
/// Messages carry a stable code and a fixed reason, never the rejected input, so they can be
/// logged as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("AUD001 invalid entry field `{field}`: {reason}")]
    InvalidEntry {
        field: &'static str,
        reason: &'static str,
    },
    #[error("AUD002 entry bytes are not the canonical encoding: {0}")]
    NonCanonicalEntry(&'static str),
    #[error("AUD003 entry timestamp cannot be encoded canonically: {0}")]
    InvalidTimestamp(&'static str),
    #[error("AUD010 invalid tree position: {0}")]
    InvalidTreePosition(&'static str),
    #[error("AUD011 inclusion proof does not verify")]
    InclusionProofFailed,
    #[error("AUD012 consistency proof does not verify")]
    ConsistencyProofFailed,
    #[error("AUD013 malformed frontier: {0}")]
    MalformedFrontier(&'static str),
    #[error("AUD020 malformed key: {0}")]
    MalformedKey(&'static str),
    #[error("AUD021 the system random generator failed")]
    RandomFailed,
    #[error("AUD022 malformed signed note: {0}")]
    MalformedNote(&'static str),
    #[error("AUD023 invalid signature for key {name}+{id:08x}")]
    InvalidSignature { name: String, id: u32 },
    #[error("AUD024 ambiguous verifier key {name}+{id:08x}")]
    AmbiguousKey { name: String, id: u32 },
    #[error("AUD025 note has no valid signature from a known key")]
    NoKnownSignature,
    #[error("AUD026 malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    #[error("AUD027 checkpoint origin does not match the signing key name")]
    OriginMismatch,
    #[error("AUD030 malformed inclusion bundle: {0}")]
    MalformedBundle(&'static str),
    #[error("AUD031 inclusion bundle is inconsistent: {0}")]
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
