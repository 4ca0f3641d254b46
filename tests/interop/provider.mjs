// A certified OpenID Provider (panva's oidc-provider) configured like FranceConnect, for the
// interop tests of crates/oidc. Test use only: loopback, in-memory storage, fixed test accounts.
//
//   OP_PROFILE=fc2|rs256|fc1 CLIENT_ID=… CLIENT_SECRET=… REDIRECT_URI=… POST_LOGOUT_REDIRECT_URI=… \
//     node provider.mjs
//
// Prints one JSON line {"issuer": "...", "port": N} once listening, then serves until stdin closes.
//   fc2    FranceConnect v2: ES256 id_token, ES256-signed userinfo (application/jwt), claims parameter
//   rs256  the same with RS256
//   fc1    FranceConnect v1 (legacy): HS256 id_token keyed by the client secret, JSON userinfo
// Test-only routes: GET/POST /interaction/:uid (our own form, which sets acr), POST
// /interaction/:uid/abort (access_denied), POST /__rotate (publish a new signing key first).
import http from 'node:http';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing ${name}`);
  return value;
};
const profile = env('OP_PROFILE');
const client = {
  client_id: env('CLIENT_ID'),
  client_secret: env('CLIENT_SECRET'),
  redirect_uris: [env('REDIRECT_URI')],
  post_logout_redirect_uris: [env('POST_LOGOUT_REDIRECT_URI')],
  // FranceConnect: client_secret_post at the token endpoint.
  token_endpoint_auth_method: 'client_secret_post',
  grant_types: ['authorization_code'],
  response_types: ['code'],
};
const alg = { fc2: 'ES256', rs256: 'RS256', fc1: 'HS256' }[profile];
if (!alg) throw new Error(`unknown OP_PROFILE ${profile}`);
client.id_token_signed_response_alg = alg;
if (profile !== 'fc1') client.userinfo_signed_response_alg = alg;

// The identité pivot of the test accounts; `sub` is the account id.
const accounts = {
  'angela-dubois': {
    given_name: 'Angela Claire Louise', family_name: 'DUBOIS', birthdate: '1962-08-24',
    gender: 'female', birthplace: '75107', birthcountry: '99100',
    email: 'angela.dubois@example.fr', preferred_username: '',
  },
  'karim-benali': {
    given_name: 'Karim', family_name: 'BENALI', birthdate: '1979-03-02', gender: 'male',
    birthplace: '', birthcountry: '99350', email: 'karim.benali@example.fr',
    preferred_username: '',
  },
};

const claimsConfig = {
  acr: null, auth_time: null, iss: null, sid: null,
  openid: ['sub'],
  profile: ['family_name', 'given_name', 'preferred_username', 'gender', 'birthdate'],
  birth: ['birthplace', 'birthcountry'],
  identite_pivot: ['given_name', 'family_name', 'birthdate', 'gender', 'birthplace', 'birthcountry'],
  email: ['email'],
  given_name: ['given_name'], family_name: ['family_name'], birthdate: ['birthdate'],
  gender: ['gender'], birthplace: ['birthplace'], birthcountry: ['birthcountry'],
  preferred_username: ['preferred_username'],
};

async function newKey(kind) {
  const { privateKey } = await generateKeyPair(kind, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: `${kind}-${Math.random().toString(36).slice(2, 10)}`, alg: kind, use: 'sig' };
}

function html(title, body) {
  return `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
}

function makeProvider(issuer, keys) {
  const signing = profile === 'fc1' ? ['HS256', 'RS256'] : [alg];
  return new Provider(issuer, {
    clients: [client],
    jwks: { keys },
    acrValues: ['eidas1', 'eidas2', 'eidas3'],
    claims: claimsConfig,
    cookies: { keys: ['interop-test-cookie-key-not-secret'] },
    findAccount: async (ctx, id) => accounts[id] && {
      accountId: id,
      claims: async () => ({ sub: id, ...accounts[id] }),
    },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      jwtUserinfo: { enabled: profile !== 'fc1' },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = html('Déconnexion', `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Se déconnecter</button>`);
        },
      },
    },
    enabledJWA: {
      idTokenSigningAlgValues: signing,
      userinfoSigningAlgValues: profile === 'fc1' ? ['RS256'] : [alg],
    },
    // FranceConnect: codes live 30 s, access tokens 60 s.
    ttl: { AuthorizationCode: 30, AccessToken: 60, IdToken: 60, Interaction: 600, Session: 600, Grant: 600 },
    interactions: { url: async (ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = html('Erreur', `<pre>${JSON.stringify(out)}</pre>`);
    },
  });
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function finishWithGrant(provider, req, res, details, login) {
  const accountId = login?.accountId ?? details.session?.accountId;
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  if (details.params.claims) {
    const requested = JSON.parse(details.params.claims);
    grant.addOIDCClaims([...Object.keys(requested.id_token ?? {}), ...Object.keys(requested.userinfo ?? {})]);
  }
  const grantId = await grant.save();
  const result = { consent: { grantId } };
  if (login) result.login = login;
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

async function interaction(provider, req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    if (details.prompt.name === 'consent') {
      await finishWithGrant(provider, req, res, details);
      return;
    }
    const options = Object.keys(accounts).map((id) => `<label><input type="radio" name="account" value="${id}">${id}</label>`).join('');
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(html('Connexion', `<form method="post" action="/interaction/${uid}">${options}
      <select name="acr"><option>eidas1</option><option>eidas2</option><option>eidas3</option></select>
      <button type="submit">Continuer</button></form>
      <form method="post" action="/interaction/${uid}/abort"><button type="submit">Annuler</button></form>`));
    return;
  }
  const form = await readForm(req);
  if (req.url.endsWith('/abort')) {
    await provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }
  const accountId = form.get('account');
  if (!accounts[accountId]) {
    res.statusCode = 400;
    res.end('unknown account');
    return;
  }
  await finishWithGrant(provider, req, res, details, { accountId, acr: form.get('acr') ?? 'eidas1', amr: ['pwd'] });
}

const keyKind = profile === 'fc2' ? 'ES256' : 'RS256';
// FC v1 still needs an RSA key for what oidc-provider signs besides id_tokens.
let keys = [await newKey(keyKind)];
let current;
const server = http.createServer(async (req, res) => {
  try {
    const match = req.url.match(/^\/interaction\/([^/?]+)(\/abort)?$/);
    if (match) return await interaction(current, req, res, match[1]);
    if (req.url === '/__rotate' && req.method === 'POST') {
      keys = [await newKey(keyKind), ...keys];
      current = makeProvider(issuer, keys);
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ kid: keys[0].kid }));
    }
    return current.callback()(req, res);
  } catch (err) {
    res.statusCode = 500;
    res.end(String(err));
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;
current = makeProvider(issuer, keys);
process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
// The Rust test holds our stdin: when it ends (test finished or killed), so do we.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
