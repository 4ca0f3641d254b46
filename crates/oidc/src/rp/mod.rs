//! The relying party towards FranceConnect (upstream): we identify the aidé with their own
//! FranceConnect account.
//!
//! `openidconnect` does discovery, the authorization URL and the code exchange
//! (`client_secret_post`); every check of the returned tokens is ours (see `jwt`), with the time
//! passed in.

mod config;
mod http;
mod identity;
mod jwks;
mod jwt;
mod login;
mod logout;

use ac_auth::ct_eq;
use ac_mandates::PivotIdentity;
use base64::Engine;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthType, AuthenticationContextClass, AuthenticationFlow, ClientId,
    ClientSecret, CsrfToken, DiscoveryError, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata,
    RedirectUrl, RequestTokenError, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

pub use config::{HttpSettings, ProtocolVersion, RpConfig};
pub use login::{CallbackParams, PendingLogin, state_key};
pub use logout::{IdTokenHint, PendingLogout};
pub use openidconnect::AuthorizationCode;

use crate::{Acr, OidcError, usager_subject};
use jwt::{Claims, Expected, Verifier, string};
use login::{CallbackContext, new_token};

/// Discovery fields `openidconnect`'s core metadata does not carry.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraMetadata {
    /// RP-Initiated Logout 1.0 §2.1.
    pub end_session_endpoint: Option<Url>,
    /// RFC 7636 via RFC 8414 §2.
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// RFC 9207 §3.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The outcome of a successful identification: what may be stored, and the hint for logout.
#[derive(Debug, Clone)]
pub struct Identification {
    /// The keyed pseudonym of (issuer, upstream `sub`): the `usagers.subject` column.
    pub subject: String,
    pub identity: PivotIdentity,
    /// The level the provider reached (≥ the level requested).
    pub acr: Acr,
    /// For the end-session redirect only; not to be stored with the usager.
    pub id_token_hint: IdTokenHint,
}

/// A relying party bound to one provider, after discovery.
#[derive(Debug)]
pub struct RelyingParty {
    config: RpConfig,
    http: reqwest::Client,
    client: Client,
    userinfo_endpoint: Url,
    extra: ExtraMetadata,
    jwks: jwks::JwksCache,
}

fn duration(d: std::time::Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

impl RelyingParty {
    /// Reads the provider's discovery document (OIDC Discovery §4) and checks that it offers what
    /// we need. `now` dates the key cache.
    #[tracing::instrument(skip_all, fields(issuer = %config.issuer))]
    pub async fn discover(config: RpConfig, now: OffsetDateTime) -> Result<Self, OidcError> {
        config.validate()?;
        let http = http::client(&config.http)?;
        let issuer = IssuerUrl::new(config.issuer.clone())
            .map_err(|e| OidcError::Config(format!("issuer : {e}")))?;
        // OIDC Discovery §4.3: the document's `issuer` must equal ours (checked by openidconnect).
        let metadata = Metadata::discover_async(issuer, &http)
            .await
            .map_err(|e| match e {
                DiscoveryError::Request(e) => OidcError::Unreachable {
                    step: "discovery",
                    cause: e.to_string(),
                },
                other => OidcError::Discovery(other.to_string()),
            })?;
        let code_flow = metadata
            .response_types_supported()
            .iter()
            .any(|r| r.as_ref() == [CoreResponseType::Code]);
        let post = metadata
            .token_endpoint_auth_methods_supported()
            .is_none_or(|m| m.contains(&CoreClientAuthMethod::ClientSecretPost));
        let algs = metadata.id_token_signing_alg_values_supported();
        let alg_offered = algs.iter().any(|theirs| {
            let name = serde_json::to_value(theirs).unwrap_or_default();
            config.algorithms.iter().any(|ours| name == ours.as_str())
        });
        let userinfo_endpoint = metadata.userinfo_endpoint().map(|u| u.url().clone());
        let (Some(userinfo_endpoint), Some(_), true, true, true) = (
            userinfo_endpoint,
            metadata.token_endpoint(),
            code_flow,
            post,
            alg_offered,
        ) else {
            return Err(OidcError::Discovery(
                "il faut le flux code, client_secret_post, un endpoint token et userinfo, et un de nos algorithmes".into(),
            ));
        };
        let jwks = jwks::JwksCache::new(
            metadata.jwks_uri().url().clone(),
            duration(config.jwks_max_age),
        );
        let published = serde_json::to_value(metadata.jwks())
            .map_err(|e| OidcError::Discovery(e.to_string()))?;
        jwks.seed(published, now)?;
        let extra = metadata.additional_metadata().clone();
        let secret = String::from_utf8(config.client_secret.expose().to_vec())
            .map_err(|_| OidcError::Config("client_secret doit être du texte".into()))?;
        let redirect = RedirectUrl::new(config.redirect_uri.clone())
            .map_err(|e| OidcError::Config(format!("redirect_uri : {e}")))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            Some(ClientSecret::new(secret)),
        )
        .set_redirect_uri(redirect)
        // FranceConnect: client_secret_post at the token endpoint (RFC 6749 §2.3.1).
        .set_auth_type(AuthType::RequestBody);
        Ok(Self {
            config,
            http,
            client,
            userinfo_endpoint,
            extra,
            jwks,
        })
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    pub fn config(&self) -> &RpConfig {
        &self.config
    }

    /// Whether the provider advertised PKCE S256 (then every login uses it).
    pub fn uses_pkce(&self) -> bool {
        self.extra
            .code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
    }

    /// How many times the key set was downloaded again after discovery (tests and metrics).
    pub fn jwks_fetches(&self) -> u64 {
        self.jwks.fetches()
    }

    /// Starts an identification: the URL to send the browser to, and the [`PendingLogin`] the
    /// caller stores under its `state_hash`, tied to `browser_binding`.
    pub fn begin(
        &self,
        acr: Option<Acr>,
        browser_binding: &str,
        now: OffsetDateTime,
    ) -> Result<(Url, PendingLogin), OidcError> {
        let requested_acr = acr.unwrap_or(self.config.acr);
        // ≥ 32 random characters each (FranceConnect): 256 bits in base64url, 43 characters.
        let state = new_token()?;
        let nonce = new_token()?;
        let pkce_verifier = if self.uses_pkce() {
            Some(new_token()?)
        } else {
            None
        };
        let (state_text, nonce_text) = (state.expose().to_owned(), nonce.expose().to_owned());
        let mut request = self
            .client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                move || CsrfToken::new(state_text),
                move || Nonce::new(nonce_text),
            )
            .add_scopes(
                self.config
                    .scopes
                    .iter()
                    .filter(|s| *s != "openid")
                    .map(|s| Scope::new(s.clone())),
            )
            .add_auth_context_value(AuthenticationContextClass::new(
                requested_acr.as_str().to_owned(),
            ))
            // OIDC Core §3.1.2.1: a shared tablet may still hold the previous person's session.
            .add_prompt(CoreAuthPrompt::Login);
        if let Some(verifier) = &pkce_verifier {
            // RFC 7636 §4.2, S256 only (no `plain`).
            request = request.set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(
                &PkceCodeVerifier::new(verifier.expose().to_owned()),
            ));
        }
        let (url, _, _) = request.url();
        let pending = PendingLogin {
            state_hash: state.hash().as_str().to_owned(),
            nonce,
            pkce_verifier,
            requested_acr,
            created_at: now,
            browser_binding: browser_binding.to_owned(),
        };
        Ok((url, pending))
    }

    /// Checks the redirect back from the provider against the login stored under its state
    /// (`None` when none was found). Returns the authorization code to pass to [`Self::complete`].
    pub fn validate_callback(
        &self,
        params: &CallbackParams,
        stored: Option<&PendingLogin>,
        browser_binding: &str,
        now: OffsetDateTime,
    ) -> Result<AuthorizationCode, OidcError> {
        let ctx = CallbackContext {
            issuer: &self.config.issuer,
            iss_parameter_supported: self.extra.authorization_response_iss_parameter_supported,
            login_ttl: duration(self.config.login_ttl),
        };
        login::validate_callback(&ctx, params, stored, browser_binding, now)
    }

    /// The whole return from the provider: the callback checked against the stored login, then
    /// the code exchanged ([`Self::validate_callback`], [`Self::complete`]). A callback with no
    /// stored login is refused before any request leaves.
    pub async fn identify(
        &self,
        params: &CallbackParams,
        stored: Option<&PendingLogin>,
        browser_binding: &str,
        now: OffsetDateTime,
    ) -> Result<Identification, OidcError> {
        let code = self.validate_callback(params, stored, browser_binding, now)?;
        let pending = stored.ok_or(OidcError::StateUnknown)?;
        self.complete(code, pending, now).await
    }

    fn verifier(&self) -> Verifier<'_> {
        Verifier {
            algorithms: &self.config.algorithms,
            jwks: &self.jwks,
            http: &self.http,
            client_secret: self.config.client_secret.expose(),
        }
    }

    fn expected(&self, now: OffsetDateTime) -> Expected<'_> {
        Expected {
            issuer: &self.config.issuer,
            client_id: &self.config.client_id,
            now,
            leeway: self.config.leeway,
        }
    }

    /// Exchanges the code, checks the id_token and the userinfo, and maps the identity. Nothing
    /// here is stored; the raw `sub` and the access token do not leave this function.
    #[tracing::instrument(skip_all, fields(issuer = %self.config.issuer))]
    pub async fn complete(
        &self,
        code: AuthorizationCode,
        pending: &PendingLogin,
        now: OffsetDateTime,
    ) -> Result<Identification, OidcError> {
        let mut request = self
            .client
            .exchange_code(code)
            .map_err(|e| OidcError::Config(e.to_string()))?;
        if let Some(verifier) = &pending.pkce_verifier {
            request =
                request.set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()));
        }
        let tokens = request
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => OidcError::TokenRefused {
                    error: r.error().to_string(),
                },
                RequestTokenError::Request(e) => OidcError::Unreachable {
                    step: "token",
                    cause: e.to_string(),
                },
                RequestTokenError::Parse(e, _) => OidcError::BadResponse {
                    step: "token",
                    cause: e.to_string(),
                },
                RequestTokenError::Other(e) => OidcError::BadResponse {
                    step: "token",
                    cause: e,
                },
            })?;
        let id_token = tokens.id_token().ok_or(OidcError::NoIdToken)?.to_string();

        // OIDC Core §3.1.3.7.
        let claims = self.verifier().verify(&id_token, now).await?;
        let expected = self.expected(now);
        expected.issuer(&claims)?;
        expected.audience(&claims)?;
        expected.times(&claims, true, self.config.max_token_age)?;
        // Step 11: the nonce we sent, so a token from another login cannot be replayed here.
        let nonce_ok = string(&claims, "nonce")
            .is_some_and(|n| ct_eq(n.as_bytes(), pending.nonce.expose().as_bytes()));
        if !nonce_ok {
            return Err(OidcError::NonceMismatch);
        }
        // Step 12: at least the level asked for; an unknown or missing value is too low.
        let acr_text = string(&claims, "acr");
        let acr = acr_text
            .and_then(|a| a.parse::<Acr>().ok())
            .filter(|a| *a >= pending.requested_acr)
            .ok_or_else(|| OidcError::AcrTooLow {
                requested: pending.requested_acr.as_str(),
                got: acr_text.map(|a| a.chars().take(20).collect()),
            })?;
        let sub = string(&claims, "sub")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| OidcError::MalformedToken("sub absent".into()))?;

        let access_token = tokens.access_token().secret();
        // OIDC Core §3.1.3.8 (optional in the code flow): when `at_hash` is sent, it must be the
        // left half of SHA-256 of this access token (all our algorithms use SHA-256).
        if let Some(at_hash) = claims.get("at_hash") {
            let digest = ring::digest::digest(&ring::digest::SHA256, access_token.as_bytes());
            let left = digest.as_ref().get(..16).unwrap_or_default();
            let ours = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(left);
            if at_hash
                .as_str()
                .is_none_or(|h| !ct_eq(h.as_bytes(), ours.as_bytes()))
            {
                return Err(OidcError::AccessTokenHash);
            }
        }
        let userinfo = self.userinfo(access_token, &expected).await?;
        // OIDC Core §5.3.2: the userinfo `sub` must be the id_token's, or it is someone else's.
        if string(&userinfo, "sub") != Some(sub) {
            return Err(OidcError::SubjectMismatch);
        }
        let identity = identity::pivot_identity(&userinfo)?;
        Ok(Identification {
            subject: usager_subject(&self.config.pseudonym_key, &self.config.issuer, sub),
            identity,
            acr,
            id_token_hint: IdTokenHint::new(id_token),
        })
    }

    async fn userinfo(
        &self,
        access_token: &str,
        expected: &Expected<'_>,
    ) -> Result<Claims, OidcError> {
        let body = http::read(
            "userinfo",
            self.http
                .get(self.userinfo_endpoint.clone())
                .bearer_auth(access_token),
        )
        .await?;
        match self.config.version {
            ProtocolVersion::V2 => {
                // FranceConnect v2: userinfo is a signed JWT (OIDC Core §5.3.2).
                if body.content_type != "application/jwt" {
                    return Err(OidcError::UserinfoNotSigned);
                }
                let text = std::str::from_utf8(&body.bytes)
                    .map_err(|_| OidcError::MalformedToken("userinfo".into()))?;
                let claims = self.verifier().verify(text.trim(), expected.now).await?;
                expected.issuer(&claims)?;
                expected.audience(&claims)?;
                expected.times(&claims, false, self.config.max_token_age)?;
                Ok(claims)
            }
            ProtocolVersion::V1Legacy => {
                if body.content_type != "application/json" {
                    return Err(OidcError::BadResponse {
                        step: "userinfo",
                        cause: format!("type {}", body.content_type),
                    });
                }
                serde_json::from_slice::<Claims>(&body.bytes).map_err(|e| OidcError::BadResponse {
                    step: "userinfo",
                    cause: e.to_string(),
                })
            }
        }
    }

    /// The browser redirect that closes the aidé's session at the provider, and what to keep to
    /// check the return.
    pub fn end_session(
        &self,
        hint: &IdTokenHint,
        browser_binding: &str,
        now: OffsetDateTime,
    ) -> Result<(Url, PendingLogout), OidcError> {
        let endpoint = self
            .extra
            .end_session_endpoint
            .as_ref()
            .ok_or(OidcError::NoEndSession)?;
        logout::end_session_url(
            endpoint,
            hint,
            &self.config.post_logout_redirect_uri,
            browser_binding,
            now,
        )
    }

    /// Checks the `state` the provider sent back to the post-logout URI.
    pub fn check_end_session_return(
        &self,
        state: Option<&str>,
        pending: Option<&PendingLogout>,
        browser_binding: &str,
        now: OffsetDateTime,
    ) -> Result<(), OidcError> {
        logout::check_return(
            state,
            pending,
            browser_binding,
            duration(self.config.login_ttl),
            now,
        )
    }
}
