//! The one-pass reader of canonical entry bytes.
//!
//! It accepts exactly the bytes [`Entry::canonical_bytes`](crate::Entry::canonical_bytes)
//! writes, and refuses every other spelling of the same facts, without building a JSON tree or
//! re-encoding: an entry's grammar is fixed (known member names in RFC 8785 order, strings, one
//! integer), so each byte is checked as it is read. Full verification reads every entry of the
//! log, so this is its hot path; strings borrow the input unless they hold escapes.

use std::borrow::Cow;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::entry::{
    MAX_DETAIL_KEY_BYTES, MAX_DETAILS, MAX_ENTRY_BYTES, MAX_SEQ, MAX_STRING_BYTES, is_detail_key,
};
use crate::{Action, Actor, ActorKind, AuditError, Entry};

/// An entry read in place from its canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryView<'a> {
    pub seq: u64,
    pub at: OffsetDateTime,
    pub action: Action,
    pub actor_kind: ActorKind,
    pub actor_id: Option<Cow<'a, str>>,
    pub organisation_id: Option<Cow<'a, str>>,
    pub usager: Option<Cow<'a, str>>,
    pub demarche: Option<Cow<'a, str>>,
    pub client_id: Option<Cow<'a, str>>,
    pub target: Option<Cow<'a, str>>,
    pub request_id: Option<Cow<'a, str>>,
    /// In key order; keys never need escapes.
    pub details: Vec<(&'a str, Cow<'a, str>)>,
}

fn non_canonical(why: &'static str) -> AuditError {
    AuditError::NonCanonicalEntry(why)
}

impl<'a> EntryView<'a> {
    /// Reads canonical entry bytes (see the module documentation).
    pub fn read(bytes: &'a [u8]) -> Result<Self, AuditError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(non_canonical("larger than 64 KiB"));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| non_canonical("not UTF-8"))?;
        Self::read_str(text)
    }

    /// [`Self::read`] for text already known to be UTF-8 (a database column).
    pub fn read_str(text: &'a str) -> Result<Self, AuditError> {
        if text.len() > MAX_ENTRY_BYTES {
            return Err(non_canonical("larger than 64 KiB"));
        }
        let mut r = Reader { text, pos: 0 };
        let view = r.entry()?;
        if r.pos == text.len() {
            Ok(view)
        } else {
            Err(non_canonical(
                "unknown, repeated or misplaced member, or trailing bytes",
            ))
        }
    }
}

impl EntryView<'_> {
    /// The owned entry.
    pub fn into_entry(self) -> Entry {
        let own = |s: Option<Cow<'_, str>>| s.map(Cow::into_owned);
        Entry {
            seq: self.seq,
            at: self.at,
            action: self.action,
            actor: Actor {
                kind: self.actor_kind,
                id: own(self.actor_id),
            },
            organisation_id: own(self.organisation_id),
            usager: own(self.usager),
            demarche: own(self.demarche),
            client_id: own(self.client_id),
            target: own(self.target),
            request_id: own(self.request_id),
            details: self
                .details
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.into_owned()))
                .collect(),
        }
    }
}

/// A cursor over the entry text. It only ever stops on ASCII bytes, so every slice it takes is
/// valid UTF-8.
struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a [u8] {
        self.text.as_bytes().get(self.pos..).unwrap_or_default()
    }

    fn expect(&mut self, literal: u8, why: &'static str) -> Result<(), AuditError> {
        if self.rest().first() == Some(&literal) {
            self.pos += 1;
            Ok(())
        } else {
            Err(non_canonical(why))
        }
    }

    /// Consumes `"name":` (after a `,` unless `first`) if that member comes next. Members are
    /// tried in RFC 8785 order, so one out of order, repeated or unknown is left unread and
    /// refused by the closing brace.
    fn member(&mut self, name: &str, first: bool) -> bool {
        let rest = self.rest();
        let rest = if first {
            Some(rest)
        } else {
            rest.strip_prefix(b",")
        };
        let after = rest
            .and_then(|r| r.strip_prefix(b"\""))
            .and_then(|r| r.strip_prefix(name.as_bytes()))
            .and_then(|r| r.strip_prefix(b"\":"));
        match after {
            Some(after) => {
                self.pos = self.text.len() - after.len();
                true
            }
            None => false,
        }
    }

    /// A string exactly as JCS (and `serde_json`) writes it: `"` and `\` escaped, the controls
    /// as `\b \t \n \f \r` or else lower-case `\u00xx`, everything else as raw UTF-8.
    fn raw_string(&mut self) -> Result<Cow<'a, str>, AuditError> {
        self.expect(b'"', "a string was expected")?;
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let mut owned: Option<String> = None;
        let mut run = start; // first byte not yet copied into `owned`
        loop {
            let Some(&b) = bytes.get(self.pos) else {
                return Err(non_canonical("unterminated string"));
            };
            match b {
                b'"' => {
                    let value = match owned {
                        None => Cow::Borrowed(&self.text[start..self.pos]),
                        Some(mut s) => {
                            s.push_str(&self.text[run..self.pos]);
                            Cow::Owned(s)
                        }
                    };
                    self.pos += 1;
                    return Ok(value);
                }
                b'\\' => {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&self.text[run..self.pos]);
                    let (c, len) = unescape(bytes.get(self.pos + 1..).unwrap_or_default())?;
                    s.push(c);
                    self.pos += 1 + len;
                    run = self.pos;
                }
                0x00..=0x1f => return Err(non_canonical("unescaped control character")),
                _ => self.pos += 1,
            }
        }
    }

    /// A string field's value: non-empty (`None` is spelled by omission) and bounded.
    fn string(&mut self, field: &'static str) -> Result<Cow<'a, str>, AuditError> {
        let value = self.raw_string()?;
        let reason = if value.is_empty() {
            "empty; use None"
        } else if value.len() > MAX_STRING_BYTES {
            "longer than 256 bytes"
        } else {
            return Ok(value);
        };
        Err(AuditError::InvalidEntry { field, reason })
    }

    /// An optional top-level string member.
    fn optional(
        &mut self,
        name: &'static str,
        first: &mut bool,
    ) -> Result<Option<Cow<'a, str>>, AuditError> {
        if self.member(name, *first) {
            *first = false;
            self.string(name).map(Some)
        } else {
            Ok(None)
        }
    }

    fn required(&mut self, name: &'static str, first: &mut bool) -> Result<(), AuditError> {
        if self.member(name, *first) {
            *first = false;
            Ok(())
        } else {
            Err(non_canonical("a required member is missing or misplaced"))
        }
    }

    /// RFC 8785 §3.2.2.3 for a non-negative safe integer: plain digits, no leading zero.
    fn seq(&mut self) -> Result<u64, AuditError> {
        let digits = self
            .rest()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let text = &self.text[self.pos..self.pos + digits];
        if digits == 0 || (digits > 1 && text.starts_with('0')) {
            return Err(non_canonical("seq is not a plain integer"));
        }
        self.pos += digits;
        match text.parse::<u64>() {
            Ok(n) if n <= MAX_SEQ => Ok(n),
            _ => Err(AuditError::InvalidEntry {
                field: "seq",
                reason: "above 2^53 - 1",
            }),
        }
    }

    fn actor(&mut self) -> Result<(ActorKind, Option<Cow<'a, str>>), AuditError> {
        self.expect(b'{', "actor is not an object")?;
        let id = if self.member("id", true) {
            Some(self.string("actor.id")?)
        } else {
            None
        };
        let mut first = id.is_none();
        self.required("kind", &mut first)?;
        let kind = self.raw_string()?.parse()?;
        self.expect(b'}', "unknown or misplaced actor member")?;
        Ok((kind, id))
    }

    fn details(&mut self) -> Result<Vec<(&'a str, Cow<'a, str>)>, AuditError> {
        self.expect(b'{', "details is not an object")?;
        let mut details: Vec<(&'a str, Cow<'a, str>)> = Vec::new();
        loop {
            if !details.is_empty() && self.rest().first() == Some(&b'}') {
                self.pos += 1;
                return Ok(details);
            }
            if !details.is_empty() {
                self.expect(b',', "details members are not comma-separated")?;
            }
            let key = self.key()?;
            if details.last().is_some_and(|(previous, _)| *previous >= key) {
                // Keys are ASCII, where UTF-16 order is byte order.
                return Err(non_canonical("details keys are repeated or out of order"));
            }
            if details.len() == MAX_DETAILS {
                return Err(AuditError::InvalidEntry {
                    field: "details",
                    reason: "more than 32 entries",
                });
            }
            let value = self.string("details")?;
            details.push((key, value));
        }
    }

    /// A `details` key and its colon. Keys are `[a-z][a-z0-9_]*`, so they never need escapes.
    fn key(&mut self) -> Result<&'a str, AuditError> {
        self.expect(b'"', "a details key was expected")?;
        let len = self
            .rest()
            .iter()
            .take(MAX_DETAIL_KEY_BYTES + 1)
            .take_while(|&&b| b != b'"')
            .count();
        let key = &self.text[self.pos..self.pos + len];
        if !is_detail_key(key) {
            return Err(AuditError::InvalidEntry {
                field: "details",
                reason: "key is not [a-z][a-z0-9_]* of at most 64 bytes",
            });
        }
        self.pos += len;
        self.expect(b'"', "unterminated details key")?;
        self.expect(b':', "a colon was expected")?;
        Ok(key)
    }

    fn entry(&mut self) -> Result<EntryView<'a>, AuditError> {
        self.expect(b'{', "not a JSON entry object")?;
        let mut first = true;
        self.required("action", &mut first)?;
        let action: Action = self.raw_string()?.parse()?;
        self.required("actor", &mut first)?;
        let (actor_kind, actor_id) = self.actor()?;
        self.required("at", &mut first)?;
        let at = parse_at(&self.raw_string()?)?;
        let client_id = self.optional("client_id", &mut first)?;
        let demarche = self.optional("demarche", &mut first)?;
        let details = if self.member("details", first) {
            self.details()?
        } else {
            Vec::new()
        };
        let organisation_id = self.optional("organisation_id", &mut first)?;
        let request_id = self.optional("request_id", &mut first)?;
        self.required("seq", &mut first)?;
        let seq = self.seq()?;
        let target = self.optional("target", &mut first)?;
        let usager = self.optional("usager", &mut first)?;
        self.expect(b'}', "unknown, repeated or misplaced member")?;
        Ok(EntryView {
            seq,
            at,
            action,
            actor_kind,
            actor_id,
            organisation_id,
            usager,
            demarche,
            client_id,
            target,
            request_id,
            details,
        })
    }
}

/// One escape (the bytes after the backslash) as JCS writes it; returns the character and the
/// number of bytes read. Any other escape is a second spelling of the same string.
fn unescape(after: &[u8]) -> Result<(char, usize), AuditError> {
    let short = |c: char| Ok((c, 1));
    match after.first() {
        Some(b'"') => short('"'),
        Some(b'\\') => short('\\'),
        Some(b'b') => short('\u{8}'),
        Some(b't') => short('\t'),
        Some(b'n') => short('\n'),
        Some(b'f') => short('\u{c}'),
        Some(b'r') => short('\r'),
        Some(b'u') => match after.get(1..5) {
            Some([b'0', b'0', high @ (b'0' | b'1'), low])
                if low.is_ascii_digit() || (b'a'..=b'f').contains(low) =>
            {
                let value = (high - b'0') * 16 + hex_digit(*low);
                match value {
                    // These have short forms, which JCS uses.
                    0x08 | 0x09 | 0x0a | 0x0c | 0x0d => {
                        Err(non_canonical("a control character has a short escape"))
                    }
                    _ => Ok((char::from(value), 5)),
                }
            }
            _ => Err(non_canonical(
                "only control characters are escaped as \\u00xx",
            )),
        },
        _ => Err(non_canonical("unknown escape")),
    }
}

fn hex_digit(b: u8) -> u8 {
    if b.is_ascii_digit() {
        b - b'0'
    } else {
        b - b'a' + 10
    }
}

/// `YYYY-MM-DDThh:mm:ss.ffffffZ`, the one spelling of an instant in entries (UTC, microseconds).
fn parse_at(text: &str) -> Result<OffsetDateTime, AuditError> {
    let invalid = || AuditError::InvalidTimestamp("not YYYY-MM-DDThh:mm:ss.ffffffZ");
    let b = text.as_bytes();
    let shape_ok = b.len() == 27
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            26 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(invalid());
    }
    let number = |from: usize, to: usize| {
        b.get(from..to)
            .unwrap_or_default()
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let year = i32::try_from(number(0, 4)).map_err(|_| invalid())?;
    let month = Month::try_from(u8::try_from(number(5, 7)).map_err(|_| invalid())?)
        .map_err(|_| invalid())?;
    let small = |from, to| u8::try_from(number(from, to)).map_err(|_| invalid());
    let date = Date::from_calendar_date(year, month, small(8, 10)?).map_err(|_| invalid())?;
    let time = Time::from_hms_micro(
        small(11, 13)?,
        small(14, 16)?,
        small(17, 19)?,
        number(20, 26),
    )
    .map_err(|_| invalid())?;
    Ok(PrimitiveDateTime::new(date, time).assume_utc())
}
