//! The provider's signatures: compact JWS (RFC 7515) made and checked with `ring` alone.
//!
//! - ES256 (RFC 7518 §3.4): P-256 keys generated here; ring's fixed-length signature is already
//!   the JWS `R ‖ S` form.
//! - RS256 (RFC 7518 §3.3): ring signs with RSA but cannot generate RSA keys, so an operator
//!   provides a PKCS#8 key (2048 to 8192 bits, ring's own bounds) made with a tool that can, e.g.
//!   `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072`. The `rsa` crate is not used
//!   (RUSTSEC-2023-0071).
//! - HS256 (RFC 7518 §3.2): keyed by the client secret's UTF-8 octets (OIDC Core §10.1), legacy
//!   FranceConnect v1 clients only.
//!
//! Key ids are RFC 7638 thumbprints, so a `kid` names exactly one public key.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::{Map, Value, json};
use std::fmt;

use super::OpError;
use crate::SigningAlg;

pub type Claims = Map<String, Value>;

enum Pair {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

/// A private signing key (ES256 or RS256) with its key id.
pub struct SigningKey {
    kid: String,
    pair: Pair,
    public: PublicKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({} {}, [redacted])", self.alg(), self.kid)
    }
}

#[derive(Clone, PartialEq, Eq)]
enum PublicKind {
    /// P-256 affine coordinates, 32 bytes each.
    Ec { x: Vec<u8>, y: Vec<u8> },
    /// Big-endian modulus and exponent without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

/// A published key: what the JWKS lists and what checks our own tokens (`id_token_hint`).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    kid: String,
    kind: PublicKind,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} {})", self.alg(), self.kid)
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn key_error(m: &str) -> OpError {
    OpError::Key(m.to_owned())
}

/// RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace.
fn thumbprint(kind: &PublicKind) -> String {
    let canonical = match kind {
        PublicKind::Ec { x, y } => format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            b64(x),
            b64(y)
        ),
        PublicKind::Rsa { n, e } => {
            format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64(e), b64(n))
        }
    };
    b64(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
}

impl PublicKey {
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> SigningAlg {
        match self.kind {
            PublicKind::Ec { .. } => SigningAlg::ES256,
            PublicKind::Rsa { .. } => SigningAlg::RS256,
        }
    }

    /// The RFC 7517 form, with `kid`, `use: sig` and `alg`.
    pub fn to_jwk(&self) -> Value {
        match &self.kind {
            PublicKind::Ec { x, y } => json!({
                "kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y),
                "kid": self.kid, "use": "sig", "alg": "ES256",
            }),
            PublicKind::Rsa { n, e } => json!({
                "kty": "RSA", "n": b64(n), "e": b64(e),
                "kid": self.kid, "use": "sig", "alg": "RS256",
            }),
        }
    }

    /// Reads back a JWK this module wrote (stored with the key); the `kid` must be its thumbprint.
    pub fn from_jwk(jwk: &Value) -> Result<Self, OpError> {
        let field = |name: &str| -> Result<Vec<u8>, OpError> {
            jwk.get(name)
                .and_then(Value::as_str)
                .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
                .ok_or_else(|| key_error("JWK incomplète"))
        };
        let kind = match (
            jwk.get("kty").and_then(Value::as_str),
            jwk.get("crv").and_then(Value::as_str),
        ) {
            (Some("EC"), Some("P-256")) => PublicKind::Ec {
                x: field("x")?,
                y: field("y")?,
            },
            (Some("RSA"), None) => PublicKind::Rsa {
                n: field("n")?,
                e: field("e")?,
            },
            _ => return Err(key_error("type de JWK non pris en charge")),
        };
        let kid = thumbprint(&kind);
        if jwk.get("kid").and_then(Value::as_str) != Some(kid.as_str()) {
            return Err(key_error("kid différent de l'empreinte RFC 7638"));
        }
        Ok(Self { kid, kind })
    }

    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match &self.kind {
            PublicKind::Ec { x, y } => {
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            PublicKind::Rsa { n, e } => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
        }
    }
}

impl SigningKey {
    /// A new ES256 key, and its PKCS#8 document to keep (sealed) for later loads.
    pub fn generate_es256(rng: &dyn SecureRandom) -> Result<(Self, Vec<u8>), OpError> {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, rng)
            .map_err(|_| OpError::Random)?;
        let key = Self::from_pkcs8(SigningAlg::ES256, pkcs8.as_ref())?;
        Ok((key, pkcs8.as_ref().to_vec()))
    }

    /// Loads a PKCS#8 private key of the given algorithm (HS256 has no such key).
    pub fn from_pkcs8(alg: SigningAlg, pkcs8: &[u8]) -> Result<Self, OpError> {
        let (pair, kind) = match alg {
            SigningAlg::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    pkcs8,
                    &SystemRandom::new(),
                )
                .map_err(|e| OpError::Key(format!("P-256 PKCS#8 : {e}")))?;
                // Uncompressed SEC1 point: 0x04 ‖ x ‖ y.
                let point = pair.public_key().as_ref();
                let (Some(x), Some(y)) = (point.get(1..33), point.get(33..65)) else {
                    return Err(key_error("point P-256 inattendu"));
                };
                let kind = PublicKind::Ec {
                    x: x.to_vec(),
                    y: y.to_vec(),
                };
                (Pair::Es256(pair), kind)
            }
            SigningAlg::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(pkcs8)
                    .map_err(|e| OpError::Key(format!("RSA PKCS#8 (2048 à 8192 bits) : {e}")))?;
                let components = signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
                let kind = PublicKind::Rsa {
                    n: components.n,
                    e: components.e,
                };
                (Pair::Rs256(pair), kind)
            }
            SigningAlg::HS256 => return Err(key_error("HS256 n'a pas de clé privée")),
        };
        let kid = thumbprint(&kind);
        Ok(Self {
            public: PublicKey {
                kid: kid.clone(),
                kind,
            },
            kid,
            pair,
        })
    }

    /// The DER of an operator's RSA key file: PEM `PRIVATE KEY` (PKCS#8) or raw DER. A PKCS#1
    /// `RSA PRIVATE KEY` is refused with the conversion to run.
    pub fn pkcs8_from_file(bytes: &[u8]) -> Result<Vec<u8>, OpError> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Ok(bytes.to_vec());
        };
        if text.contains("BEGIN RSA PRIVATE KEY") {
            return Err(key_error(
                "clé PKCS#1 : convertissez-la avec `openssl pkcs8 -topk8 -nocrypt -in ANCIENNE -out NOUVELLE`",
            ));
        }
        if text.contains("ENCRYPTED PRIVATE KEY") {
            return Err(key_error(
                "clé chiffrée : fournissez-la sans phrase de passe",
            ));
        }
        let begin = "-----BEGIN PRIVATE KEY-----";
        let end = "-----END PRIVATE KEY-----";
        let (Some(start), Some(stop)) = (text.find(begin), text.find(end)) else {
            return Err(key_error("fichier PEM « PRIVATE KEY » (PKCS#8) attendu"));
        };
        let body: String = text
            .get(start + begin.len()..stop)
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        STANDARD
            .decode(body)
            .map_err(|_| key_error("PEM illisible"))
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> SigningAlg {
        self.public.alg()
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// A compact JWS of `claims` with `alg`, `typ` and `kid` in the header.
    pub fn sign(&self, typ: &str, claims: &Claims) -> Result<String, OpError> {
        let header = json!({ "alg": self.alg().as_str(), "typ": typ, "kid": self.kid });
        let input = signing_input(&header, claims)?;
        let rng = SystemRandom::new();
        let sig = match &self.pair {
            Pair::Es256(pair) => pair
                .sign(&rng, input.as_bytes())
                .map_err(|_| OpError::Signing)?
                .as_ref()
                .to_vec(),
            Pair::Rs256(pair) => {
                let mut sig = vec![0u8; pair.public().modulus_len()];
                pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rng,
                    input.as_bytes(),
                    &mut sig,
                )
                .map_err(|_| OpError::Signing)?;
                sig
            }
        };
        Ok(format!("{input}.{}", b64(&sig)))
    }
}

fn signing_input(header: &Value, claims: &Claims) -> Result<String, OpError> {
    let header = serde_json::to_vec(header).map_err(|_| OpError::Signing)?;
    let claims = serde_json::to_vec(claims).map_err(|_| OpError::Signing)?;
    Ok(format!("{}.{}", b64(&header), b64(&claims)))
}

/// HS256 keyed by a client secret (OIDC Core §10.1); no `kid`, the client knows its secret.
pub fn sign_hs256(secret: &[u8], typ: &str, claims: &Claims) -> Result<String, OpError> {
    let input = signing_input(&json!({ "alg": "HS256", "typ": typ }), claims)?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    Ok(format!("{input}.{}", b64(tag.as_ref())))
}

struct Parts<'a> {
    alg: SigningAlg,
    kid: Option<String>,
    input: &'a str,
    claims: Claims,
    signature: Vec<u8>,
}

fn split(token: &str) -> Option<Parts<'_>> {
    let (input, sig) = token.rsplit_once('.')?;
    let (header, payload) = input.split_once('.')?;
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    // RFC 7515 §4.1.11: no extension we would have to understand.
    if header.get("crit").is_some() {
        return None;
    }
    let alg = header.get("alg")?.as_str()?.parse::<SigningAlg>().ok()?;
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    Some(Parts {
        alg,
        kid: header.get("kid").and_then(Value::as_str).map(str::to_owned),
        input,
        claims,
        signature: URL_SAFE_NO_PAD.decode(sig).ok()?,
    })
}

/// The claims of a token, **unverified**: only to learn which client an `id_token_hint` names
/// (its `aud`) and so which key checks it. Nothing read here is trusted before [`verify`].
pub fn peek_claims(token: &str) -> Option<Claims> {
    split(token).map(|p| p.claims)
}

/// The claims of a token this provider signed: with one of `keys` (by `kid` and algorithm), or
/// with `hs256_secret` when given and the header says HS256. `none` and every other algorithm
/// fail to parse (`SigningAlg` knows three names).
pub fn verify(
    token: &str,
    keys: &[PublicKey],
    hs256_secret: Option<&[u8]>,
) -> Result<Claims, OpError> {
    let parts = split(token).ok_or(OpError::BadToken)?;
    let ok = match (parts.alg, hs256_secret) {
        (SigningAlg::HS256, Some(secret)) => {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
            ring::hmac::verify(&key, parts.input.as_bytes(), &parts.signature).is_ok()
        }
        (SigningAlg::HS256, None) => false,
        (alg, _) => keys
            .iter()
            .find(|k| Some(k.kid()) == parts.kid.as_deref() && k.alg() == alg)
            .is_some_and(|k| k.verify(parts.input.as_bytes(), &parts.signature)),
    };
    if ok {
        Ok(parts.claims)
    } else {
        Err(OpError::BadToken)
    }
}

/// The keys in use: one current signing key per algorithm, and every key to publish (next,
/// current and recently retired), which also check our own tokens.
#[derive(Debug, Default)]
pub struct KeySet {
    signing: Vec<SigningKey>,
    published: Vec<PublicKey>,
}

impl KeySet {
    pub fn new(signing: Vec<SigningKey>, published: Vec<PublicKey>) -> Self {
        let mut published = published;
        for key in &signing {
            if !published.contains(key.public()) {
                published.push(key.public().clone());
            }
        }
        Self { signing, published }
    }

    /// The current key for `alg`.
    pub fn signer(&self, alg: SigningAlg) -> Option<&SigningKey> {
        self.signing.iter().find(|k| k.alg() == alg)
    }

    /// Algorithms with a current key.
    pub fn algorithms(&self) -> Vec<SigningAlg> {
        [SigningAlg::ES256, SigningAlg::RS256]
            .into_iter()
            .filter(|a| self.signer(*a).is_some())
            .collect()
    }

    pub fn published(&self) -> &[PublicKey] {
        &self.published
    }

    /// The JWKS document (RFC 7517 §5).
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.published.iter().map(PublicKey::to_jwk).collect::<Vec<_>>() })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A 2048-bit RSA key for tests, made once with
    /// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048` (ring cannot generate one).
    pub(crate) const TEST_RSA_PEM: &str = include_str!("testdata/rsa-2048.pem");

    fn claims() -> Claims {
        json!({"iss": "https://ac.example", "sub": "s", "aud": "c"})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn es256_round_trip_and_jwk() {
        let (key, pkcs8) = SigningKey::generate_es256(&SystemRandom::new()).unwrap();
        let again = SigningKey::from_pkcs8(SigningAlg::ES256, &pkcs8).unwrap();
        assert_eq!(key.kid(), again.kid());
        let token = key.sign("JWT", &claims()).unwrap();
        let keys = [key.public().clone()];
        assert_eq!(verify(&token, &keys, None).unwrap(), claims());
        let jwk = key.public().to_jwk();
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["use"], "sig");
        assert!(jwk.get("d").is_none(), "never the private part");
        assert_eq!(PublicKey::from_jwk(&jwk).unwrap(), *key.public());
        // The header names the key and the algorithm.
        let header = token.split('.').next().unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], key.kid());
    }

    #[test]
    fn rs256_from_an_operator_pem() {
        let der = SigningKey::pkcs8_from_file(TEST_RSA_PEM.as_bytes()).unwrap();
        let key = SigningKey::from_pkcs8(SigningAlg::RS256, &der).unwrap();
        assert_eq!(key.alg(), SigningAlg::RS256);
        let token = key.sign("JWT", &claims()).unwrap();
        assert_eq!(
            verify(&token, &[key.public().clone()], None).unwrap(),
            claims()
        );
        let jwk = key.public().to_jwk();
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(PublicKey::from_jwk(&jwk).unwrap(), *key.public());
        // Checked independently of ring: jsonwebtoken (the RP's library) accepts it.
        let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
            jwk["n"].as_str().unwrap(),
            jwk["e"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_aud = false;
        jsonwebtoken::decode::<Claims>(&token, &decoding, &validation).unwrap();
    }

    #[test]
    fn key_files_of_other_shapes_are_refused_with_advice() {
        let pkcs1 = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let err = SigningKey::pkcs8_from_file(pkcs1.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("openssl pkcs8"), "{err}");
        assert!(SigningKey::pkcs8_from_file(b"hello").is_err());
        assert!(SigningKey::from_pkcs8(SigningAlg::RS256, b"not der").is_err());
        assert!(SigningKey::from_pkcs8(SigningAlg::HS256, b"").is_err());
    }

    #[test]
    fn es256_checked_by_jsonwebtoken_too() {
        let (key, _) = SigningKey::generate_es256(&SystemRandom::new()).unwrap();
        let token = key.sign("JWT", &claims()).unwrap();
        let jwk = key.public().to_jwk();
        let decoding = jsonwebtoken::DecodingKey::from_ec_components(
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_aud = false;
        jsonwebtoken::decode::<Claims>(&token, &decoding, &validation).unwrap();
    }

    #[test]
    fn forged_and_foreign_tokens_fail() {
        let rng = SystemRandom::new();
        let (key, _) = SigningKey::generate_es256(&rng).unwrap();
        let (other, _) = SigningKey::generate_es256(&rng).unwrap();
        let keys = [key.public().clone()];
        let foreign = other.sign("JWT", &claims()).unwrap();
        assert_eq!(verify(&foreign, &keys, None), Err(OpError::BadToken));
        let token = key.sign("JWT", &claims()).unwrap();
        let mut parts: Vec<&str> = token.split('.').collect();
        let altered = b64(br#"{"iss":"https://ac.example","sub":"other","aud":"c"}"#);
        parts[1] = &altered;
        assert!(verify(&parts.join("."), &keys, None).is_err());
        let none = format!(
            "{}.{}.",
            b64(br#"{"alg":"none"}"#),
            token.split('.').nth(1).unwrap()
        );
        assert!(verify(&none, &keys, None).is_err());
        // HS256 keyed with anything is refused unless a secret is expected.
        let hs = sign_hs256(b"public-key-bytes-used-as-a-secret", "JWT", &claims()).unwrap();
        assert!(verify(&hs, &keys, None).is_err());
        assert!(verify(&hs, &keys, Some(b"public-key-bytes-used-as-a-secret")).is_ok());
        assert!(verify(&hs, &keys, Some(b"another secret")).is_err());
        let crit = format!(
            "{}.{}.{}",
            b64(br#"{"alg":"ES256","crit":["x"]}"#),
            parts[1],
            parts[2]
        );
        assert!(verify(&crit, &keys, None).is_err());
    }

    #[test]
    fn key_sets_publish_everything_and_sign_with_current_keys() {
        let rng = SystemRandom::new();
        let (current, _) = SigningKey::generate_es256(&rng).unwrap();
        let (next, _) = SigningKey::generate_es256(&rng).unwrap();
        let set = KeySet::new(vec![current], vec![next.public().clone()]);
        assert_eq!(set.algorithms(), [SigningAlg::ES256]);
        assert_eq!(set.published().len(), 2);
        assert!(set.signer(SigningAlg::RS256).is_none());
        let jwks = set.jwks();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn jwk_with_a_wrong_kid_is_refused() {
        let (key, _) = SigningKey::generate_es256(&SystemRandom::new()).unwrap();
        let mut jwk = key.public().to_jwk();
        jwk["kid"] = json!("chosen-by-someone");
        assert!(PublicKey::from_jwk(&jwk).is_err());
    }
}
