//! Encryption of TOTP seeds at rest: AES-256-GCM (ring), a fresh random 96-bit nonce per seal,
//! and the device id as associated data, so a sealed seed copied onto another device row no
//! longer opens.
//!
//! Key file: one key per line, `ID:BASE64URL(32 bytes)`. The first line is the current key, used
//! to seal; the others only open seeds sealed before a rotation. Blank lines and `#` comments
//! are ignored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::SecureRandom;
use std::fmt;

use crate::AuthError;
use crate::secret::Secret;

pub const KEY_BYTES: usize = 32;
/// Prefix of the sealed form, so the format can change later without guessing.
const VERSION: &str = "v1";

struct SeedKey {
    id: String,
    key: LessSafeKey,
}

/// The keys that seal and open TOTP seeds.
pub struct KeyRing {
    current: SeedKey,
    older: Vec<SeedKey>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current.id)
            .field(
                "older",
                &self.older.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl KeyRing {
    /// Parses a key file's text.
    pub fn parse(text: &str) -> Result<Self, AuthError> {
        let mut keys = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (id, encoded) = line
                .split_once(':')
                .ok_or(AuthError::InvalidKey("ligne sans « ID: »"))?;
            if !valid_id(id) {
                return Err(AuthError::InvalidKey(
                    "identifiant de clé attendu en [a-z0-9-], 32 caractères au plus",
                ));
            }
            if keys.iter().any(|k: &SeedKey| k.id == id) {
                return Err(AuthError::InvalidKey("identifiant de clé en double"));
            }
            let bytes = URL_SAFE_NO_PAD
                .decode(encoded)
                .map_err(|_| AuthError::InvalidKey("clé attendue en base64url sans remplissage"))?;
            if bytes.len() != KEY_BYTES {
                return Err(AuthError::InvalidKey("une clé fait 32 octets"));
            }
            let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
                .map_err(|_| AuthError::InvalidKey("clé refusée par AES-256-GCM"))?;
            keys.push(SeedKey {
                id: id.to_owned(),
                key: LessSafeKey::new(unbound),
            });
        }
        let mut keys = keys.into_iter();
        let current = keys.next().ok_or(AuthError::InvalidKey("aucune clé"))?;
        Ok(Self {
            current,
            older: keys.collect(),
        })
    }

    /// The text of a new key file holding one fresh key.
    pub fn generate_file_text(rng: &dyn SecureRandom) -> Result<String, AuthError> {
        let mut id = [0u8; 4];
        let mut key = [0u8; KEY_BYTES];
        rng.fill(&mut id).map_err(|_| AuthError::Random)?;
        rng.fill(&mut key).map_err(|_| AuthError::Random)?;
        Ok(format!(
            "# Clé de chiffrement des graines TOTP (AES-256-GCM). Ne jamais copier hors du serveur.\n\
             # Rotation : ajouter la nouvelle clé en première ligne, garder les anciennes dessous.\n\
             k{}:{}\n",
            hex::encode(id),
            URL_SAFE_NO_PAD.encode(key)
        ))
    }

    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// `v1.KEYID.BASE64URL(nonce ‖ ciphertext ‖ tag)`.
    pub fn seal(
        &self,
        rng: &dyn SecureRandom,
        seed: &Secret,
        device_id: &str,
    ) -> Result<String, AuthError> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce).map_err(|_| AuthError::Random)?;
        let mut in_out = seed.expose().to_vec();
        self.current
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(device_id.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| AuthError::Seal)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&in_out);
        Ok(format!(
            "{VERSION}.{}.{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(sealed)
        ))
    }

    pub fn open(&self, sealed: &str, device_id: &str) -> Result<Secret, AuthError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(VERSION), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Unseal);
        };
        let key = std::iter::once(&self.current)
            .chain(&self.older)
            .find(|k| k.id == id)
            .ok_or_else(|| AuthError::UnknownKeyId(id.to_owned()))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| AuthError::Unseal)?;
        let (nonce, ciphertext) = bytes.split_at_checked(NONCE_LEN).ok_or(AuthError::Unseal)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| AuthError::Unseal)?;
        let mut in_out = ciphertext.to_vec();
        let plain = key
            .key
            .open_in_place(nonce, Aad::from(device_id.as_bytes()), &mut in_out)
            .map_err(|_| AuthError::Unseal)?;
        Ok(Secret::new(plain.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    fn ring_from(rng: &SystemRandom) -> KeyRing {
        KeyRing::parse(&KeyRing::generate_file_text(rng).unwrap()).unwrap()
    }

    #[test]
    fn seal_then_open_round_trips_and_hides_the_seed() {
        let rng = SystemRandom::new();
        let keys = ring_from(&rng);
        let seed = Secret::new(b"12345678901234567890".to_vec());
        let sealed = keys.seal(&rng, &seed, "device-1").unwrap();
        assert!(sealed.starts_with(&format!("v1.{}.", keys.current_id())));
        assert!(!sealed.contains("1234567890"));
        assert_eq!(keys.open(&sealed, "device-1").unwrap(), seed);
        // Fresh nonce each time.
        assert_ne!(sealed, keys.seal(&rng, &seed, "device-1").unwrap());
    }

    #[test]
    fn a_seed_moved_to_another_device_or_tampered_does_not_open() {
        let rng = SystemRandom::new();
        let keys = ring_from(&rng);
        let seed = Secret::new(vec![7; 20]);
        let sealed = keys.seal(&rng, &seed, "device-1").unwrap();
        assert_eq!(keys.open(&sealed, "device-2"), Err(AuthError::Unseal));
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            keys.open(&String::from_utf8(tampered).unwrap(), "device-1"),
            Err(AuthError::Unseal)
        );
        assert_eq!(keys.open("v2.x.y", "device-1"), Err(AuthError::Unseal));
        let other = ring_from(&rng);
        assert!(matches!(
            other.open(&sealed, "device-1"),
            Err(AuthError::UnknownKeyId(_))
        ));
    }

    #[test]
    fn rotation_keeps_old_seeds_readable() {
        let rng = SystemRandom::new();
        let old_text = KeyRing::generate_file_text(&rng).unwrap();
        let old = KeyRing::parse(&old_text).unwrap();
        let seed = Secret::new(vec![9; 20]);
        let sealed = old.seal(&rng, &seed, "d").unwrap();
        let new_text = KeyRing::generate_file_text(&rng).unwrap();
        let rotated = KeyRing::parse(&format!("{new_text}\n{old_text}")).unwrap();
        assert_ne!(rotated.current_id(), old.current_id());
        assert_eq!(rotated.open(&sealed, "d").unwrap(), seed);
        assert!(
            rotated
                .seal(&rng, &seed, "d")
                .unwrap()
                .contains(rotated.current_id())
        );
    }

    #[test]
    fn bad_key_files_are_refused() {
        for bad in [
            "",
            "# only a comment",
            "nocolon",
            "UPPER:AAAA",
            "k1:not base64!",
            "k1:AAAA",
        ] {
            assert!(
                matches!(KeyRing::parse(bad), Err(AuthError::InvalidKey(_))),
                "{bad:?}"
            );
        }
        let rng = SystemRandom::new();
        let text = KeyRing::generate_file_text(&rng).unwrap();
        let doubled = format!("{text}{text}");
        assert!(KeyRing::parse(&doubled).is_err(), "duplicate id");
        let key_line = text.lines().find(|l| !l.starts_with('#')).unwrap();
        let (_, key) = key_line.split_once(':').unwrap();
        assert!(!format!("{:?}", KeyRing::parse(&text).unwrap()).contains(key));
    }
}
