//! Pending authorizations, codes and access tokens. **Demo only**: in this process's memory, keyed
//! by the SHA-256 of the random value handed out, purged when expired.

use ac_auth::{Token, TokenHash};
use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;

use ac_oidc::Acr;

#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub redirect_uri: String,
    pub state: String,
    pub nonce: String,
    pub scopes: Vec<String>,
    pub acr: Acr,
    pub code_challenge: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub request: Request,
    /// Index into `IDENTITIES`.
    pub identity: usize,
}

#[derive(Debug, Default)]
struct Maps {
    interactions: HashMap<TokenHash, (Request, OffsetDateTime)>,
    codes: HashMap<TokenHash, (Grant, OffsetDateTime)>,
    tokens: HashMap<TokenHash, (Grant, OffsetDateTime)>,
}

#[derive(Debug, Default)]
pub(crate) struct Store(Mutex<Maps>);

pub(crate) enum Kind {
    Code,
    AccessToken,
}

impl Store {
    fn with<T>(&self, f: impl FnOnce(&mut Maps) -> T) -> T {
        let mut maps = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut maps)
    }

    pub(crate) fn put_interaction(
        &self,
        token: &Token,
        request: Request,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) {
        self.with(|m| {
            m.interactions.retain(|_, (_, e)| *e > now);
            m.interactions.insert(token.hash(), (request, expires));
        });
    }

    pub(crate) fn put_grant(
        &self,
        kind: Kind,
        token: &Token,
        grant: Grant,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) {
        self.with(|m| {
            let map = match kind {
                Kind::Code => &mut m.codes,
                Kind::AccessToken => &mut m.tokens,
            };
            map.retain(|_, (_, e)| *e > now);
            map.insert(token.hash(), (grant, expires));
        });
    }

    /// Removes and returns a pending authorization: each is used once.
    pub(crate) fn take_interaction(&self, text: &str, now: OffsetDateTime) -> Option<Request> {
        let hash = Token::parse(text)?.hash();
        self.with(|m| m.interactions.remove(&hash))
            .filter(|(_, expires)| *expires > now)
            .map(|(request, _)| request)
    }

    /// Removes and returns a code's grant: a code is redeemed once (RFC 6749 §4.1.2).
    pub(crate) fn take_code(&self, text: &str, now: OffsetDateTime) -> Option<Grant> {
        let hash = Token::parse(text)?.hash();
        self.with(|m| m.codes.remove(&hash))
            .filter(|(_, expires)| *expires > now)
            .map(|(grant, _)| grant)
    }

    pub(crate) fn access(&self, text: &str, now: OffsetDateTime) -> Option<Grant> {
        let hash = Token::parse(text)?.hash();
        self.with(|m| m.tokens.get(&hash).cloned())
            .filter(|(_, expires)| *expires > now)
            .map(|(grant, _)| grant)
    }
}
