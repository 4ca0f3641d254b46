// A certified relying party (panva's openid-client 6.x) playing FranceConnect against our
// identity provider, for tests/e2e/provider_interop.rs. The Rust test drives it line by line:
// one JSON request on stdin, one JSON answer on stdout. The Rust side plays the aidant's browser
// (and moves the server's clock, revokes mandates); everything a relying party checks is done
// here, by openid-client, with independent checks through jose on top.
//
// Requests: {"op":"discover"|"begin"|"callback"|"userinfo"|"end_session_url", ...}.
// Answers: {"ok": {...}} or {"error": {"name", "code", "error", "status", "message"}}.

import * as client from 'openid-client';
import * as jose from 'jose';
import { createHash } from 'node:crypto';
import readline from 'node:readline';

const configs = new Map();
const flows = new Map();
let next = 0;

function config(name) {
  const found = configs.get(name);
  if (!found) throw new Error(`no configuration named ${name}`);
  return found;
}

// OIDC Core §3.1.3.6: base64url of the left half of SHA-256 of the access token.
function atHash(accessToken) {
  const digest = createHash('sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, 16).toString('base64url');
}

async function discover(msg) {
  const metadata = {
    client_secret: msg.client_secret,
    id_token_signed_response_alg: msg.id_token_alg ?? 'ES256',
    [client.clockTolerance]: 30,
  };
  if (msg.userinfo_alg !== null) {
    metadata.userinfo_signed_response_alg = msg.userinfo_alg ?? 'ES256';
  }
  const found = await client.discovery(
    new URL(msg.issuer),
    msg.client_id,
    metadata,
    client.ClientSecretPost(msg.client_secret),
    // Plain HTTP on loopback for the test only; id_token and userinfo signatures checked
    // against the JWKS even though they come from the token endpoint.
    { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] },
  );
  configs.set(msg.name, { config: found, clientId: msg.client_id, alg: metadata.id_token_signed_response_alg });
  return { metadata: found.serverMetadata() };
}

async function begin(msg) {
  const { config: c } = config(msg.name);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const params = {
    redirect_uri: msg.redirect_uri,
    scope: msg.scope ?? 'openid profile email birth',
    state,
    nonce,
    acr_values: 'eidas1',
  };
  if (msg.prompt_login) params.prompt = 'login';
  let verifier;
  if (msg.pkce !== false) {
    verifier = client.randomPKCECodeVerifier();
    params.code_challenge = await client.calculatePKCECodeChallenge(verifier);
    params.code_challenge_method = 'S256';
  }
  if (msg.rep_scope) {
    params.claims = JSON.stringify({ id_token: { rep_scope: { essential: true, values: msg.rep_scope } } });
  }
  Object.assign(params, msg.extra ?? {});
  const url = client.buildAuthorizationUrl(c, params);
  const id = String(next++);
  flows.set(id, { state, nonce, verifier });
  return { id, url: url.href, state };
}

async function callback(msg) {
  const { config: c, clientId, alg } = config(msg.name);
  const flow = flows.get(msg.id);
  // `verifier`: absent = the flow's own; null = none sent; a string = that one (downgrade).
  let pkceCodeVerifier = flow.verifier;
  if (msg.verifier === null) pkceCodeVerifier = undefined;
  else if (typeof msg.verifier === 'string') pkceCodeVerifier = msg.verifier;
  const tokens = await client.authorizationCodeGrant(c, new URL(msg.url), {
    pkceCodeVerifier,
    expectedState: flow.state,
    expectedNonce: flow.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const server = c.serverMetadata();
  // Independently of openid-client: the signature against the published JWKS, with the
  // algorithm pinned, and iss/aud.
  const jwks = jose.createRemoteJWKSet(new URL(server.jwks_uri));
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.id_token, jwks, {
    issuer: server.issuer,
    audience: clientId,
    algorithms: [alg],
  });
  return {
    access_token: tokens.access_token,
    token_type: tokens.token_type,
    expires_in: tokens.expires_in,
    scope: tokens.scope,
    id_token: tokens.id_token,
    claims,
    header: protectedHeader,
    jose_sub: payload.sub,
    at_hash_ok: typeof claims.at_hash === 'string' && claims.at_hash === atHash(tokens.access_token),
    jwks_kids: (await (await fetch(server.jwks_uri)).json()).keys.map((k) => k.kid),
  };
}

async function userinfo(msg) {
  const { config: c, clientId } = config(msg.name);
  const info = await client.fetchUserInfo(c, msg.access_token, msg.sub);
  return { claims: info, client_id: clientId };
}

async function endSessionUrl(msg) {
  const { config: c } = config(msg.name);
  const params = { post_logout_redirect_uri: msg.post_logout_redirect_uri, state: msg.state };
  if (msg.id_token_hint) params.id_token_hint = msg.id_token_hint;
  return { url: client.buildEndSessionUrl(c, params).href };
}

const ops = { discover, begin, callback, userinfo, end_session_url: endSessionUrl };

function describe(err) {
  // WWWAuthenticateChallengeError carries the parsed challenges as its cause.
  const challenge = Array.isArray(err?.cause) ? err.cause[0]?.parameters?.error : undefined;
  return {
    name: err?.name ?? 'Error',
    code: err?.code ?? null,
    error: err?.error ?? challenge ?? err?.cause?.error ?? null,
    status: err?.status ?? err?.response?.status ?? null,
    message: String(err?.message ?? err),
  };
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const msg = JSON.parse(line);
    const op = ops[msg.op];
    if (!op) throw new Error(`unknown op ${msg.op}`);
    answer = { ok: await op(msg) };
  } catch (err) {
    answer = { error: describe(err) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
