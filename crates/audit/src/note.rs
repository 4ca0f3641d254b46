//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys, byte-compatible with
//! Go's `golang.org/x/mod/sumdb/note`.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::digest;
use ring::rand::SecureRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};

use crate::AuditError;

/// signed-note "Signature types": `0x01` is Ed25519.
const ALG_ED25519: u8 = 0x01;
/// signed-note "Format": each signature line starts with an em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// signed-note "Format" asks for a limit of at least 16; Go's reference allows 100.
const MAX_SIGNATURES: usize = 100;
/// Checkpoints are a few hundred bytes; this only bounds work on hostile input.
const MAX_NOTE_BYTES: usize = 64 * 1024;

/// Standard base64 (RFC 4648 §4) that also refuses non-canonical spellings, so a value has
/// one text form.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let bytes = BASE64.decode(text).ok()?;
    (BASE64.encode(&bytes) == text).then_some(bytes)
}

pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// signed-note "Format": key names are non-empty, without Unicode spaces or `+`. Controls are
/// refused too: no note may contain them.
fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
}

/// signed-note "Ed25519 signatures":
/// `key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]`, big-endian.
fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(b"\n");
    ctx.update(&[ALG_ED25519]);
    ctx.update(public);
    let mut id = [0u8; 4];
    for (o, b) in id.iter_mut().zip(ctx.finish().as_ref()) {
        *o = *b;
    }
    u32::from_be_bytes(id)
}

fn parse_key_id(hex8: &str) -> Option<u32> {
    if hex8.len() != 8 || !hex8.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex8, 16).ok()
}

/// Decodes `base64(0x01 || 32 bytes)`, the key material of both key text forms.
fn decode_key_material(b64: &str) -> Result<[u8; 32], AuditError> {
    let raw = decode_base64(b64).ok_or(AuditError::MalformedKey("key is not base64"))?;
    match raw.split_first() {
        Some((&ALG_ED25519, key)) => key
            .try_into()
            .map_err(|_| AuditError::MalformedKey("Ed25519 key is not 32 bytes")),
        _ => Err(AuditError::MalformedKey("not an Ed25519 key")),
    }
}

fn encode_key_material(key: &[u8; 32]) -> String {
    let mut raw = Vec::with_capacity(33);
    raw.push(ALG_ED25519);
    raw.extend_from_slice(key);
    encode_base64(&raw)
}

/// A public key that checks note signatures: `<name>+<hex key id>+<base64(0x01 || key)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    public: [u8; 32],
}

impl VerifierKey {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.public)
            .verify(text.as_bytes(), signature)
            .is_ok()
    }
}

impl FromStr for VerifierKey {
    type Err = AuditError;

    fn from_str(text: &str) -> Result<Self, AuditError> {
        // Names contain no `+`, so the first two `+` are separators; base64 may hold more.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(AuditError::MalformedKey("expected name+id+key"));
        };
        if !is_valid_key_name(name) {
            return Err(AuditError::MalformedKey("invalid key name"));
        }
        let id = parse_key_id(id).ok_or(AuditError::MalformedKey("key id is not 8 hex digits"))?;
        let public = decode_key_material(key)?;
        if key_id(name, &public) != id {
            return Err(AuditError::MalformedKey("key id does not match the key"));
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            public,
        })
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.id,
            encode_key_material(&self.public)
        )
    }
}

/// The secret text form of a [`SignerKey`]. No `Display`, and a redacted `Debug`: reading it
/// takes an explicit [`SecretKeyText::expose_secret`].
pub struct SecretKeyText(String);

impl SecretKeyText {
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKeyText(<redacted>)")
    }
}

/// A checkpoint signing key: a name and an Ed25519 seed.
///
/// `Debug` shows the name and key id only. The seed is not zeroized on drop (no such crate
/// is a dependency); keep the process memory private.
pub struct SignerKey {
    name: String,
    id: u32,
    seed: [u8; 32],
    pair: Ed25519KeyPair,
}

impl SignerKey {
    /// A new random key.
    pub fn generate(name: &str, rng: &dyn SecureRandom) -> Result<Self, AuditError> {
        let mut seed = [0u8; 32];
        rng.fill(&mut seed).map_err(|_| AuditError::RandomFailed)?;
        Self::from_seed(name, seed)
    }

    /// RFC 8032 §5.1.5: any 32 bytes are a valid Ed25519 private key (seed).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, AuditError> {
        if !is_valid_key_name(name) {
            return Err(AuditError::MalformedKey("invalid key name"));
        }
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|_| AuditError::MalformedKey("unusable Ed25519 seed"))?;
        let public: [u8; 32] = pair
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| AuditError::MalformedKey("Ed25519 public key is not 32 bytes"))?;
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, &public),
            seed,
            pair,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`.
    pub fn from_secret_text(text: &str) -> Result<Self, AuditError> {
        let malformed = || AuditError::MalformedKey("expected PRIVATE+KEY+name+id+key");
        let rest = text.strip_prefix("PRIVATE+KEY+").ok_or_else(malformed)?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(malformed());
        };
        let id = parse_key_id(id).ok_or(AuditError::MalformedKey("key id is not 8 hex digits"))?;
        let key = Self::from_seed(name, decode_key_material(key)?)?;
        if key.id != id {
            return Err(AuditError::MalformedKey("key id does not match the key"));
        }
        Ok(key)
    }

    /// The secret text form, for the key file.
    pub fn to_secret_text(&self) -> SecretKeyText {
        SecretKeyText(format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            encode_key_material(&self.seed)
        ))
    }

    /// The matching public key.
    pub fn verifier(&self) -> VerifierKey {
        let mut public = [0u8; 32];
        for (o, b) in public.iter_mut().zip(self.pair.public_key().as_ref()) {
            *o = *b;
        }
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            public,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> u32 {
        self.id
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerKey")
            .field("name", &self.name)
            .field("id", &format_args!("{:08x}", self.id))
            .field("seed", &format_args!("<redacted>"))
            .finish()
    }
}

/// signed-note "Format": valid UTF-8 (given by `&str`), no control character but newline.
fn has_forbidden_control(text: &str) -> bool {
    text.chars().any(|c| c < ' ' && c != '\n')
}

/// Signs `text` (non-empty, ending in a newline) and returns the signed note:
/// the text, a blank line, then `— <name> <base64(key id || signature)>`.
pub fn sign_note(text: &str, key: &SignerKey) -> Result<String, AuditError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(AuditError::MalformedNote("text must end with a newline"));
    }
    if has_forbidden_control(text) {
        return Err(AuditError::MalformedNote("text holds a control character"));
    }
    // signed-note "Ed25519 signatures": RFC 8032 Ed25519 over the note text, final newline
    // included.
    let signature = key.pair.sign(text.as_bytes());
    let mut blob = Vec::with_capacity(4 + 64);
    blob.extend_from_slice(&key.id.to_be_bytes());
    blob.extend_from_slice(signature.as_ref());
    let note = format!(
        "{text}\n{SIG_PREFIX}{} {}\n",
        key.name,
        encode_base64(&blob)
    );
    if note.len() > MAX_NOTE_BYTES {
        return Err(AuditError::MalformedNote("larger than 64 KiB"));
    }
    Ok(note)
}

/// A note whose text is covered by at least one valid signature from a known key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNote {
    /// The signed text, final newline included.
    pub text: String,
    /// Known keys whose signatures verified, in note order, without repeats.
    pub signed_by: Vec<VerifierKey>,
}

/// Opens a signed note against the trusted `verifiers`.
///
/// Per signed-note "Signatures": signatures from unknown keys (name *and* id not both known)
/// are ignored; a known key's bad signature rejects the whole note; at least one known key
/// must have signed.
pub fn verify_note(note: &str, verifiers: &[VerifierKey]) -> Result<VerifiedNote, AuditError> {
    let malformed = AuditError::MalformedNote;
    if note.len() > MAX_NOTE_BYTES {
        return Err(malformed("larger than 64 KiB"));
    }
    if has_forbidden_control(note) {
        return Err(malformed("note holds a control character"));
    }
    // signed-note "Format": the text is separated from the signatures by the last empty line.
    let split = note
        .rfind("\n\n")
        .ok_or(malformed("no blank line before signatures"))?;
    let (text, signatures) = match (note.get(..=split), note.get(split + 2..)) {
        (Some(text), Some(signatures)) => (text, signatures),
        _ => return Err(malformed("no blank line before signatures")),
    };
    let lines = signatures
        .strip_suffix('\n')
        .filter(|lines| !lines.is_empty())
        .ok_or(malformed("signature block must end with a newline"))?;

    let mut signed_by: Vec<VerifierKey> = Vec::new();
    for (n, line) in lines.split('\n').enumerate() {
        if n >= MAX_SIGNATURES {
            return Err(malformed("more than 100 signatures"));
        }
        let (name, b64) = line
            .strip_prefix(SIG_PREFIX)
            .and_then(|rest| rest.split_once(' '))
            .ok_or(malformed("bad signature line"))?;
        let blob = decode_base64(b64).filter(|_| is_valid_key_name(name));
        let Some((id, signature)) = blob.as_deref().and_then(|b| b.split_first_chunk::<4>()) else {
            return Err(malformed("bad signature line"));
        };
        if signature.is_empty() {
            return Err(malformed("bad signature line"));
        }
        let id = u32::from_be_bytes(*id);
        let mut known = verifiers.iter().filter(|k| k.name == name && k.id == id);
        let key = match (known.next(), known.next()) {
            (None, _) => continue,
            (Some(key), None) => key,
            (Some(_), Some(_)) => {
                return Err(AuditError::AmbiguousKey {
                    name: name.to_owned(),
                    id,
                });
            }
        };
        if !key.verify(text, signature) {
            return Err(AuditError::InvalidSignature {
                name: name.to_owned(),
                id,
            });
        }
        if !signed_by.contains(key) {
            signed_by.push(key.clone());
        }
    }
    if signed_by.is_empty() {
        return Err(AuditError::NoKnownSignature);
    }
    Ok(VerifiedNote {
        text: text.to_owned(),
        signed_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    // The published vector of golang.org/x/mod/sumdb/note (note_test.go).
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    fn peter() -> VerifierKey {
        PETER_VKEY.parse().unwrap()
    }

    fn enoch() -> VerifierKey {
        ENOCH_VKEY.parse().unwrap()
    }

    fn peter_note() -> String {
        format!("{TEXT}\n{PETER_SIG}")
    }

    #[test]
    fn go_vector_signs_byte_for_byte() {
        let key = SignerKey::from_secret_text(PETER_SKEY).unwrap();
        assert_eq!(key.name(), "PeterNeumann");
        assert_eq!(key.id(), 0xc74f20a3);
        assert_eq!(key.verifier(), peter());
        assert_eq!(key.verifier().to_string(), PETER_VKEY);
        assert_eq!(key.to_secret_text().expose_secret(), PETER_SKEY);
        assert_eq!(sign_note(TEXT, &key).unwrap(), peter_note());
    }

    #[test]
    fn go_vector_verifies() {
        let v = verify_note(&peter_note(), &[peter()]).unwrap();
        assert_eq!(v.text, TEXT);
        assert_eq!(v.signed_by, vec![peter()]);
    }

    #[test]
    fn unknown_keys_are_ignored_but_one_known_key_is_required() {
        let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        assert_eq!(
            verify_note(&both, &[peter()]).unwrap().signed_by,
            vec![peter()]
        );
        assert_eq!(
            verify_note(&both, &[enoch(), peter()]).unwrap().signed_by,
            vec![peter(), enoch()]
        );
        assert_eq!(
            verify_note(&both, &[]).unwrap_err(),
            AuditError::NoKnownSignature
        );
        assert_eq!(
            verify_note(&peter_note(), &[enoch()]).unwrap_err(),
            AuditError::NoKnownSignature
        );
        // Same name, other key: a different key, so unknown.
        let other = SignerKey::generate("PeterNeumann", &SystemRandom::new()).unwrap();
        assert_eq!(
            verify_note(&peter_note(), &[other.verifier()]).unwrap_err(),
            AuditError::NoKnownSignature
        );
    }

    #[test]
    fn a_known_keys_bad_signature_rejects_the_note() {
        let tampered = peter_note().replace("cryptography", "cryptographY");
        assert_eq!(
            verify_note(&tampered, &[peter()]).unwrap_err(),
            AuditError::InvalidSignature {
                name: "PeterNeumann".into(),
                id: 0xc74f20a3
            }
        );
        // Go's "invalid signature" case: bytes inserted into the signature.
        let garbled = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        assert_eq!(
            verify_note(&garbled, &[peter()]).unwrap_err().code(),
            "AUD023"
        );
        // A valid signature next to a bad one from the same known key.
        let bad_line = PETER_SIG.replace("GUgYN1", "GUgYN2"); // signature bytes, same key id
        let mixed = format!("{TEXT}\n{PETER_SIG}{bad_line}");
        assert_eq!(
            verify_note(&mixed, &[peter()]).unwrap_err().code(),
            "AUD023"
        );
    }

    #[test]
    fn duplicated_verifiers_are_ambiguous() {
        let err = verify_note(&peter_note(), &[peter(), enoch(), peter()]).unwrap_err();
        assert_eq!(err.code(), "AUD024");
        // Harmless when the duplicated key signed nothing here.
        verify_note(&peter_note(), &[enoch(), peter(), enoch()]).unwrap();
    }

    /// Go's `badMsgs`, plus a few more shapes.
    #[test]
    fn malformed_notes_are_rejected() {
        let bad = [
            TEXT.to_string(),
            format!("{TEXT}\n"),
            format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
            format!("\u{1}{TEXT}\n{PETER_SIG}"),
            format!(
                "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
            ),
            format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
            format!("{TEXT}\n{}", PETER_SIG.repeat(101)),
            format!("{TEXT}\n{}", PETER_SIG.replace('\u{2014}', "-")),
            format!("{TEXT}\n{}", PETER_SIG.replace("AM=", "AM")),
            format!("{TEXT}\n\u{2014} PeterNeumann AAAA\n"),
            format!("{TEXT}\r\n{PETER_SIG}"),
        ];
        for note in &bad {
            assert_eq!(
                verify_note(note, &[peter()]).unwrap_err().code(),
                "AUD022",
                "{note:?}"
            );
        }
        // 100 repeats are within the limit.
        verify_note(&format!("{TEXT}\n{}", PETER_SIG.repeat(100)), &[peter()]).unwrap();
    }

    #[test]
    fn sign_refuses_text_that_would_not_round_trip() {
        let key = SignerKey::from_secret_text(PETER_SKEY).unwrap();
        for text in ["", "abc", "a\tb\n", "a\r\n"] {
            assert_eq!(
                sign_note(text, &key).unwrap_err().code(),
                "AUD022",
                "{text:?}"
            );
        }
        // Empty lines inside the text are allowed: the last blank line is the separator.
        let text = "a\n\nb\n\n";
        let v = verify_note(&sign_note(text, &key).unwrap(), &[key.verifier()]).unwrap();
        assert_eq!(v.text, text);
    }

    /// Go's TestNewVerifier manglings: every substring and every single-byte change fails.
    #[test]
    fn mangled_verifier_keys_are_rejected() {
        let b = PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i == 0 && j == b.len() {
                    continue;
                }
                let s = String::from_utf8_lossy(&b[i..j]);
                assert!(s.parse::<VerifierKey>().is_err(), "{s}");
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            let s = String::from_utf8_lossy(&m);
            assert!(s.parse::<VerifierKey>().is_err(), "{s}");
        }
        // Wrong length, and unknown algorithm, each with a matching key hash.
        assert!(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
                .parse::<VerifierKey>()
                .is_err()
        );
        assert!(
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
                .parse::<VerifierKey>()
                .is_err()
        );
    }

    #[test]
    fn mangled_signer_keys_are_rejected() {
        let b = PETER_SKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i == 0 && j == b.len() {
                    continue;
                }
                let s = String::from_utf8_lossy(&b[i..j]);
                assert!(SignerKey::from_secret_text(&s).is_err(), "{s}");
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            let s = String::from_utf8_lossy(&m);
            assert!(SignerKey::from_secret_text(&s).is_err(), "{s}");
        }
    }

    #[test]
    fn generated_keys_round_trip_and_sign() {
        let rng = SystemRandom::new();
        let key = SignerKey::generate("audit.example/log", &rng).unwrap();
        let again = SignerKey::from_secret_text(key.to_secret_text().expose_secret()).unwrap();
        assert_eq!(again.verifier(), key.verifier());
        let vkey: VerifierKey = key.verifier().to_string().parse().unwrap();
        assert_eq!(vkey, key.verifier());
        let note = sign_note("hello\n", &key).unwrap();
        assert_eq!(verify_note(&note, &[vkey]).unwrap().text, "hello\n");
        assert!(SignerKey::generate("bad name", &rng).is_err());
        assert!(SignerKey::generate("a+b", &rng).is_err());
        assert!(SignerKey::generate("", &rng).is_err());
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let key = SignerKey::from_secret_text(PETER_SKEY).unwrap();
        let seed_b64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let seed_hex = hex::encode(&decode_base64(seed_b64).unwrap()[1..]);
        for shown in [format!("{key:?}"), format!("{:?}", key.to_secret_text())] {
            assert!(!shown.contains(seed_b64), "{shown}");
            assert!(!shown.contains(&seed_hex), "{shown}");
            assert!(!shown.contains(&seed_hex[..8]), "{shown}");
            assert!(shown.contains("redacted"), "{shown}");
        }
        assert!(format!("{key:?}").contains("c74f20a3"));
    }

    #[test]
    fn base64_must_be_canonical() {
        assert_eq!(decode_base64("AQ==").unwrap(), vec![1]);
        assert!(decode_base64("AR==").is_none()); // non-zero padding bits
        assert!(decode_base64("AQ").is_none()); // missing padding
        assert!(decode_base64("AQ==\n").is_none());
        assert!(decode_base64("A-_=").is_none()); // URL alphabet
    }
}
