//! The journal entry and its one canonical byte form (RFC 8785 JSON), which is what gets hashed.

use std::collections::BTreeMap;

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::jcs::{self, Value};
use crate::merkle::{self, Hash};
use crate::reader::EntryView;
use crate::{Action, ActorKind, AuditError};

/// Longest string value, in UTF-8 bytes.
pub const MAX_STRING_BYTES: usize = 256;
/// Most `details` entries.
pub const MAX_DETAILS: usize = 32;
/// Longest `details` key, in bytes (keys are `[a-z][a-z0-9_]*`).
pub const MAX_DETAIL_KEY_BYTES: usize = 64;
/// Largest canonical entry. The limits above keep every valid entry under it, even with every
/// byte escaped as `\u00xx`; a test builds that worst case.
pub const MAX_ENTRY_BYTES: usize = 64 * 1024;
/// Largest `seq`: RFC 8785 numbers are IEEE 754 doubles, exact only up to 2^53 - 1.
pub const MAX_SEQ: u64 = jcs::MAX_SAFE_INTEGER;

/// RFC 3339 §5.6, pinned to UTC (`Z`) and microseconds so one instant has one spelling.
const AT_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    /// The aidant, usager pseudonym or OIDC client id; `None` for the system.
    pub id: Option<String>,
}

impl Actor {
    /// The service itself.
    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
        }
    }

    pub fn aidant(id: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Aidant,
            id: Some(id.into()),
        }
    }
}

/// One audit journal entry. It holds identifiers and pseudonyms only, never personal data, so
/// the log never has to be rewritten for retention or erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 0-based leaf index in the log; hashed, so a moved entry no longer verifies.
    pub seq: u64,
    /// UTC, microsecond precision (see [`canonical_time`]).
    pub at: OffsetDateTime,
    pub action: Action,
    pub actor: Actor,
    pub organisation_id: Option<String>,
    /// Keyed pseudonym of the usager, never a name.
    pub usager: Option<String>,
    pub demarche: Option<String>,
    /// OIDC client (website).
    pub client_id: Option<String>,
    /// Id of the object acted on (mandate, authorization, aidant, key…).
    pub target: Option<String>,
    pub request_id: Option<String>,
    /// Non-personal extra facts (reason, duration…).
    pub details: BTreeMap<String, String>,
}

/// Brings any instant to the form entries require: UTC, truncated to the microsecond.
pub fn canonical_time(at: OffsetDateTime) -> Result<OffsetDateTime, AuditError> {
    let utc = at
        .checked_to_offset(UtcOffset::UTC)
        .ok_or(AuditError::InvalidTimestamp("outside the supported range"))?;
    utc.replace_microsecond(utc.microsecond())
        .map_err(|_| AuditError::InvalidTimestamp("cannot truncate"))
}

fn check_string(field: &'static str, value: &str) -> Result<(), AuditError> {
    let reason = if value.is_empty() {
        // `Some("")` and `None` would be two spellings of "nothing".
        "empty; use None"
    } else if value.len() > MAX_STRING_BYTES {
        "longer than 256 bytes"
    } else {
        return Ok(());
    };
    Err(AuditError::InvalidEntry { field, reason })
}

pub(crate) fn is_detail_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
        && key.len() <= MAX_DETAIL_KEY_BYTES
}

fn format_at(at: OffsetDateTime) -> Result<String, AuditError> {
    if at.offset() != UtcOffset::UTC {
        return Err(AuditError::InvalidTimestamp("offset is not UTC"));
    }
    if !at.nanosecond().is_multiple_of(1_000) {
        return Err(AuditError::InvalidTimestamp("finer than a microsecond"));
    }
    if !(0..=9999).contains(&at.year()) {
        return Err(AuditError::InvalidTimestamp("year outside 0000-9999"));
    }
    at.format(AT_FORMAT)
        .map_err(|_| AuditError::InvalidTimestamp("cannot format"))
}

impl Entry {
    /// The optional top-level strings, by their member names.
    fn optional_fields(&self) -> [(&'static str, &Option<String>); 6] {
        [
            ("organisation_id", &self.organisation_id),
            ("usager", &self.usager),
            ("demarche", &self.demarche),
            ("client_id", &self.client_id),
            ("target", &self.target),
            ("request_id", &self.request_id),
        ]
    }

    /// Checks the limits that keep entries small and their encoding unique.
    pub fn validate(&self) -> Result<(), AuditError> {
        self.validate_returning_at().map(drop)
    }

    /// [`Self::validate`], handing back the formatted `at` so it is computed once.
    fn validate_returning_at(&self) -> Result<String, AuditError> {
        if self.seq > MAX_SEQ {
            return Err(AuditError::InvalidEntry {
                field: "seq",
                reason: "above 2^53 - 1",
            });
        }
        let at = format_at(self.at)?;
        let strings = [("actor.id", &self.actor.id)]
            .into_iter()
            .chain(self.optional_fields());
        for (field, value) in strings {
            if let Some(value) = value {
                check_string(field, value)?;
            }
        }
        if self.details.len() > MAX_DETAILS {
            return Err(AuditError::InvalidEntry {
                field: "details",
                reason: "more than 32 entries",
            });
        }
        for (key, value) in &self.details {
            if !is_detail_key(key) {
                return Err(AuditError::InvalidEntry {
                    field: "details",
                    reason: "key is not [a-z][a-z0-9_]* of at most 64 bytes",
                });
            }
            check_string("details", value)?;
        }
        Ok(at)
    }

    /// The RFC 8785 (JCS) encoding: sorted keys, no whitespace, `None` and empty `details`
    /// omitted, `seq` a number, everything else a string.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, AuditError> {
        let at = self.validate_returning_at()?;
        let mut actor = vec![("kind", Value::Str(self.actor.kind.as_str()))];
        if let Some(id) = &self.actor.id {
            actor.push(("id", Value::Str(id)));
        }
        let mut members = vec![
            ("seq", Value::Int(self.seq)),
            ("at", Value::Str(&at)),
            ("action", Value::Str(self.action.as_str())),
            ("actor", Value::Object(actor)),
        ];
        for (name, value) in self.optional_fields() {
            if let Some(value) = value {
                members.push((name, Value::Str(value)));
            }
        }
        if !self.details.is_empty() {
            let details = self
                .details
                .iter()
                .map(|(k, v)| (k.as_str(), Value::Str(v)))
                .collect();
            members.push(("details", Value::Object(details)));
        }
        let mut out = Vec::with_capacity(256);
        Value::Object(members).write(&mut out)?;
        Ok(out)
    }

    /// The RFC 6962 leaf hash of this entry: `SHA-256(0x00 || canonical_bytes)`.
    pub fn leaf_hash(&self) -> Result<Hash, AuditError> {
        Ok(merkle::leaf_hash(&self.canonical_bytes()?))
    }

    /// Parses canonical bytes, refusing any other spelling of the same entry (whitespace, key
    /// order, escapes, `null`s, unknown or duplicate fields), so one entry has one hash.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, AuditError> {
        EntryView::read(bytes).map(EntryView::into_entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn minimal() -> Entry {
        Entry {
            seq: 0,
            at: datetime!(2025-03-01 09:30:00 UTC),
            action: Action::CheckpointSigned,
            actor: Actor::system(),
            organisation_id: None,
            usager: None,
            demarche: None,
            client_id: None,
            target: None,
            request_id: None,
            details: BTreeMap::new(),
        }
    }

    fn full() -> Entry {
        Entry {
            seq: 42,
            at: datetime!(2025-03-01 09:30:00.123456 UTC),
            action: Action::MandateCreated,
            actor: Actor::aidant("aid_7"),
            organisation_id: Some("org_3".into()),
            usager: Some("psd_ab12".into()),
            demarche: Some("logement".into()),
            client_id: Some("caf.example".into()),
            target: Some("mdt_9".into()),
            request_id: Some("req-1".into()),
            details: [("duration_days".into(), "365".into())].into(),
        }
    }

    fn text(e: &Entry) -> String {
        String::from_utf8(e.canonical_bytes().unwrap()).unwrap()
    }

    #[test]
    fn minimal_entry_bytes() {
        assert_eq!(
            text(&minimal()),
            r#"{"action":"checkpoint.signed","actor":{"kind":"system"},"at":"2025-03-01T09:30:00.000000Z","seq":0}"#
        );
    }

    #[test]
    fn full_entry_bytes() {
        assert_eq!(
            text(&full()),
            concat!(
                r#"{"action":"mandate.created","actor":{"id":"aid_7","kind":"aidant"},"#,
                r#""at":"2025-03-01T09:30:00.123456Z","client_id":"caf.example","#,
                r#""demarche":"logement","details":{"duration_days":"365"},"#,
                r#""organisation_id":"org_3","request_id":"req-1","seq":42,"target":"mdt_9","#,
                r#""usager":"psd_ab12"}"#
            )
        );
    }

    #[test]
    fn awkward_strings_are_escaped_as_jcs() {
        let mut e = minimal();
        e.target = Some("a\"b\\c\u{0}\u{1f}\n\té€😀\u{7f}".into());
        e.details.insert("reason".into(), "dit \"non\"".into());
        assert_eq!(
            text(&e),
            concat!(
                r#"{"action":"checkpoint.signed","actor":{"kind":"system"},"#,
                r#""at":"2025-03-01T09:30:00.000000Z","details":{"reason":"dit \"non\""},"#,
                r#""seq":0,"target":"a\"b\\c\u0000\u001f\n\t"#,
                "é€😀\u{7f}\"}"
            )
        );
        assert_eq!(
            Entry::from_canonical_bytes(&e.canonical_bytes().unwrap()).unwrap(),
            e
        );
    }

    #[test]
    fn canonical_bytes_round_trip() {
        for e in [minimal(), full()] {
            let bytes = e.canonical_bytes().unwrap();
            assert_eq!(Entry::from_canonical_bytes(&bytes).unwrap(), e);
        }
    }

    #[test]
    fn other_spellings_of_the_same_entry_are_rejected() {
        let good = text(&minimal());
        let spellings = [
            // whitespace
            good.replace(",", ", "),
            format!("{good}\n"),
            format!(" {good}"),
            // key order
            r#"{"actor":{"kind":"system"},"action":"checkpoint.signed","at":"2025-03-01T09:30:00.000000Z","seq":0}"#.into(),
            // explicit null / empty details
            good.replace(r#""seq":0"#, r#""seq":0,"usager":null"#),
            good.replace(r#""at""#, r#""details":{},"at""#),
            // number spellings
            good.replace(r#""seq":0"#, r#""seq":0.0"#),
            good.replace(r#""seq":0"#, r#""seq":-0"#),
            good.replace(r#""seq":0"#, r#""seq":0e0"#),
            // escaped but equal strings
            good.replace("checkpoint.signed", r"checkpoint\u002esigned"),
            good.replace("system", r"\u0073ystem"),
            // other time spellings of the same instant
            good.replace("09:30:00.000000Z", "09:30:00Z"),
            good.replace("09:30:00.000000Z", "09:30:00.000000+00:00"),
            good.replace("09:30:00.000000Z", "09:30:00.000000z"),
            good.replace("T09", "t09"),
            good.replace("09:30:00.000000Z", "10:30:00.000000+01:00"),
            good.replace("09:30:00.000000Z", "09:30:00.000000000Z"),
            // duplicate and unknown fields
            good.replace(r#""seq":0"#, r#""seq":0,"seq":0"#),
            good.replace(r#""seq":0"#, r#""seq":0,"extra":"x""#),
            good.replace(r#"{"kind":"system"}"#, r#"{"kind":"system","name":"x"}"#),
            // not an object / truncated
            "[]".into(),
            good[..good.len() - 1].to_string(),
        ];
        for s in &spellings {
            assert_ne!(s, &good);
            assert!(
                Entry::from_canonical_bytes(s.as_bytes()).is_err(),
                "accepted {s}"
            );
        }
        Entry::from_canonical_bytes(good.as_bytes()).unwrap();
    }

    #[test]
    fn impossible_instants_are_rejected() {
        let good = text(&minimal());
        for at in [
            "2025-02-29T09:30:00.000000Z",
            "2025-13-01T09:30:00.000000Z",
            "2025-00-01T09:30:00.000000Z",
            "2025-03-01T24:00:00.000000Z",
            "2025-03-01T09:60:00.000000Z",
            "2025-03-01T09:30:60.000000Z",
            "2025-03-01T09:30:00.00000aZ",
            "+025-03-01T09:30:00.000000Z",
        ] {
            let bad = good.replace("2025-03-01T09:30:00.000000Z", at);
            assert_eq!(
                Entry::from_canonical_bytes(bad.as_bytes())
                    .unwrap_err()
                    .code(),
                "AUD003",
                "{at}"
            );
        }
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let bytes = full().canonical_bytes().unwrap();
        let view = EntryView::read(&bytes).unwrap();
        assert!(matches!(
            view.target,
            Some(std::borrow::Cow::Borrowed("mdt_9"))
        ));
        assert_eq!(view.into_entry(), full());
    }

    #[test]
    fn duplicate_detail_keys_are_rejected() {
        let mut e = minimal();
        e.details.insert("a".into(), "2".into());
        let good = text(&e);
        let dup = good.replace(r#"{"a":"2"}"#, r#"{"a":"1","a":"2"}"#);
        assert!(Entry::from_canonical_bytes(dup.as_bytes()).is_err());
    }

    #[test]
    fn limits_are_enforced() {
        let field_error = |e: &Entry| e.canonical_bytes().unwrap_err().code();

        let mut e = minimal();
        e.target = Some("x".repeat(MAX_STRING_BYTES));
        e.canonical_bytes().unwrap();
        e.target = Some("x".repeat(MAX_STRING_BYTES + 1));
        assert_eq!(field_error(&e), "AUD001");
        e.target = Some("é".repeat(MAX_STRING_BYTES / 2 + 1)); // bytes, not chars
        assert_eq!(field_error(&e), "AUD001");
        e.target = Some(String::new());
        assert_eq!(field_error(&e), "AUD001");

        let mut e = minimal();
        e.actor.id = Some(String::new());
        assert_eq!(field_error(&e), "AUD001");

        let mut e = minimal();
        for i in 0..=MAX_DETAILS {
            e.details.insert(format!("k{i}"), "v".into());
        }
        assert_eq!(field_error(&e), "AUD001");

        for bad_key in ["", "Reason", "1a", "a-b", "é", "a b", &"a".repeat(65)] {
            let mut e = minimal();
            e.details.insert(bad_key.into(), "v".into());
            assert_eq!(field_error(&e), "AUD001", "{bad_key:?}");
        }
        let mut e = minimal();
        e.details.insert("a".into(), String::new());
        assert_eq!(field_error(&e), "AUD001");

        let mut e = minimal();
        e.seq = MAX_SEQ;
        e.canonical_bytes().unwrap();
        e.seq = MAX_SEQ + 1;
        assert_eq!(field_error(&e), "AUD001");
    }

    #[test]
    fn timestamps_must_be_canonical_utc_microseconds() {
        let mut e = minimal();
        e.at = datetime!(2025-03-01 10:30:00 +01:00);
        assert_eq!(e.canonical_bytes().unwrap_err().code(), "AUD003");
        e.at = datetime!(2025-03-01 09:30:00.000000001 UTC);
        assert_eq!(e.canonical_bytes().unwrap_err().code(), "AUD003");
        e.at = datetime!(-0001-01-01 00:00:00 UTC);
        assert_eq!(e.canonical_bytes().unwrap_err().code(), "AUD003");

        let fixed = canonical_time(datetime!(2025-03-01 10:30:00.123456789 +01:00)).unwrap();
        assert_eq!(fixed, datetime!(2025-03-01 09:30:00.123456 UTC));
        assert_eq!(fixed.offset(), UtcOffset::UTC);
        e.at = fixed;
        assert!(text(&e).contains(r#""at":"2025-03-01T09:30:00.123456Z""#));

        e.at = datetime!(0001-01-01 00:00:00 UTC);
        assert!(text(&e).contains(r#""at":"0001-01-01T00:00:00.000000Z""#));
        assert_eq!(
            Entry::from_canonical_bytes(&e.canonical_bytes().unwrap()).unwrap(),
            e
        );
    }

    #[test]
    fn the_largest_valid_entry_fits_the_parse_limit() {
        let worst = "\u{1}".repeat(MAX_STRING_BYTES); // six bytes each once escaped
        let s = || Some(worst.clone());
        let e = Entry {
            seq: MAX_SEQ,
            at: datetime!(9999-12-31 23:59:59.999999 UTC),
            action: Action::OrganisationAllowedDemarchesChanged,
            actor: Actor {
                kind: ActorKind::Aidant,
                id: s(),
            },
            organisation_id: s(),
            usager: s(),
            demarche: s(),
            client_id: s(),
            target: s(),
            request_id: s(),
            details: (0..MAX_DETAILS)
                .map(|i| (format!("{:z<64}", format!("k{i}")), worst.clone()))
                .collect(),
        };
        let bytes = e.canonical_bytes().unwrap();
        assert!(bytes.len() <= MAX_ENTRY_BYTES, "{}", bytes.len());
        assert_eq!(Entry::from_canonical_bytes(&bytes).unwrap(), e);
        let mut too_big = bytes.clone();
        too_big.resize(MAX_ENTRY_BYTES + 1, b' ');
        assert_eq!(
            Entry::from_canonical_bytes(&too_big).unwrap_err(),
            AuditError::NonCanonicalEntry("larger than 64 KiB")
        );
    }

    #[test]
    fn every_field_changes_the_leaf_hash() {
        let base = full();
        let h = base.leaf_hash().unwrap();
        let mut variants = Vec::new();
        let mut v = base.clone();
        v.seq += 1;
        variants.push(v);
        let mut v = base.clone();
        v.at += time::Duration::microseconds(1);
        variants.push(v);
        let mut v = base.clone();
        v.action = Action::MandateRevoked;
        variants.push(v);
        let mut v = base.clone();
        v.actor.kind = ActorKind::Usager;
        variants.push(v);
        let mut v = base.clone();
        v.actor.id = Some("aid_8".into());
        variants.push(v);
        let mut v = base.clone();
        v.usager = None;
        variants.push(v);
        let mut v = base.clone();
        v.details.insert("duration_days".into(), "366".into());
        variants.push(v);
        // A value moved to another field must not collide either.
        let mut v = base.clone();
        v.demarche = base.target.clone();
        v.target = base.demarche.clone();
        variants.push(v);
        for v in variants {
            assert_ne!(v.leaf_hash().unwrap(), h, "{v:?}");
        }
    }

    fn opt_string() -> impl Strategy<Value = Option<String>> {
        prop::option::of(".{1,40}")
    }

    prop_compose! {
        fn arb_entry()(
            seq in 0..=MAX_SEQ,
            micros in 0i64..253_402_300_799_999_999,
            action in prop::sample::select(Action::ALL),
            kind in prop::sample::select(ActorKind::ALL),
            actor_id in opt_string(),
            organisation_id in opt_string(),
            usager in opt_string(),
            demarche in opt_string(),
            target in opt_string(),
            details in prop::collection::btree_map("[a-z][a-z0-9_]{0,10}", ".{1,30}", 0..5),
        ) -> Entry {
            Entry {
                seq,
                at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000).unwrap(),
                action,
                actor: Actor { kind, id: actor_id },
                organisation_id,
                usager,
                demarche,
                client_id: None,
                target,
                request_id: None,
                details,
            }
        }
    }

    proptest! {
        #[test]
        fn any_valid_entry_round_trips(e in arb_entry()) {
            let bytes = e.canonical_bytes().unwrap();
            prop_assert_eq!(Entry::from_canonical_bytes(&bytes).unwrap(), e);
            // serde_json agrees that the output is JSON.
            prop_assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok());
        }

        #[test]
        fn any_single_byte_change_is_rejected_or_another_entry(
            e in arb_entry(),
            pos in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let bytes = e.canonical_bytes().unwrap();
            let mut changed = bytes.clone();
            let i = pos.index(changed.len());
            prop_assume!(changed[i] != byte);
            changed[i] = byte;
            if let Ok(other) = Entry::from_canonical_bytes(&changed) {
                prop_assert_ne!(&other, &e);
                // What the reader accepts is exactly what the writer writes: one spelling.
                prop_assert_eq!(other.canonical_bytes().unwrap(), changed);
            }
        }

        #[test]
        fn any_insertion_or_removal_is_rejected_or_another_canonical_entry(
            e in arb_entry(),
            pos in any::<prop::sample::Index>(),
            inserted in prop::sample::select(vec![
                " ", ",", "\\", "\\u0041", "\\u001f", "\\u001F", "\\n", "\\u000a", "\\/",
                "\"", "0", "-", ".0", "e0", "{}", "null", ":", "\"x\":\"y\"", "\u{7f}", "\u{1}",
            ]),
            remove in any::<bool>(),
        ) {
            let bytes = e.canonical_bytes().unwrap();
            let i = pos.index(bytes.len());
            let mut changed = bytes.clone();
            if remove {
                changed.remove(i);
            } else {
                changed.splice(i..i, inserted.bytes());
            }
            if let Ok(other) = Entry::from_canonical_bytes(&changed) {
                prop_assert_eq!(other.canonical_bytes().unwrap(), changed);
            }
        }
    }
}
