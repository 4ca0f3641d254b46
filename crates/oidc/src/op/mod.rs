//! The identity provider (downstream) side of the broker: partner websites, through
//! FranceConnect, receive the identity of the person an aidant helps, only within a mandate.
//!
//! This module decides and signs; it stores nothing and reads no clock. The web layer parses
//! HTTP into these types, storage keeps codes and tokens (hashed) and re-checks the mandate, and
//! both pass `now` in. Every rule and the test that holds it: `docs/security/oidc-provider.md`.
//!
//! | module | what |
//! |---|---|
//! | `authorize` | authorization request checks (exact redirect URI, `response_type=code`, `openid`, PKCE S256, `prompt`, `max_age`, `claims.id_token.rep_scope`) and response locations with RFC 9207 `iss` |
//! | `token` | client authentication (`client_secret_post`/`_basic`, constant time) and the code's checks |
//! | `claims` | id_token claims (with `at_hash`, `acr`, `auth_time`, `nonce`, `rep_scope`, RFC 8693 `act`) and scope-filtered userinfo |
//! | `jws` | ES256 / RS256 (ring) and legacy HS256 compact JWS, JWKs with RFC 7638 thumbprints, key sets |
//! | `logout` | RP-Initiated Logout decisions |
//! | `discovery`, `scope`, `pkce`, `client`, `error` | the rest |

mod authorize;
mod choice_refusal;
mod claims;
mod client;
mod discovery;
mod error;
mod jws;
mod logout;
mod pkce;
mod scope;
mod token;

pub use authorize::{
    AuthorizationRequest, AuthorizeParams, AuthorizeRefusal, ErrorRedirect, MAX_STATE_LEN,
    PageRefusal, code_location, validate as validate_authorization,
};
pub use choice_refusal::ChoiceRefusal;
pub use claims::{Actor, IdTokenFacts, at_hash, id_token_claims, userinfo_claims};
pub use client::{Client, ClientAuthMethod, UserinfoFormat, check_uri};
pub use discovery::{
    AUTHORIZE_PATH, DISCOVERY_PATH, END_SESSION_PATH, JWKS_PATH, TOKEN_PATH, USERINFO_PATH,
    document as discovery_document,
};
pub use error::{ErrorCode, OpError, TokenError};
pub use jws::{Claims, KeySet, PublicKey, SigningKey, sign_hs256, verify as verify_jws};
pub use logout::{EndSessionOutcome, EndSessionRequest, decide as decide_end_session};
pub use pkce::{PkceRefusal, check as check_pkce};
pub use scope::{SUPPORTED_SCOPES, claims_of_scope, granted_scopes, released_claims};
pub use token::{
    ClientCredentials, CodeFacts, TokenRequest, authenticate as authenticate_client, check_code,
    parse_token_request,
};

/// Longest lifetime of an authorization code: FranceConnect's 30 s (docs/domain.md, "FranceConnect").
pub const MAX_CODE_TTL_SECS: u64 = 30;
/// Longest lifetime of an access token (and of the id_token issued with it): 60 s.
pub const MAX_ACCESS_TOKEN_TTL_SECS: u64 = 60;
