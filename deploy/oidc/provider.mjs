// The demo and test OpenID provider of eco-pipeline: panva's oidc-provider (v8) on loopback,
// over HTTPS, with the test users of users.json (one per role and tenant).
//
// Access tokens are JWTs for the portal's API, issued through resource indicators (RFC 8707):
// their audience is the portal's resource, and they carry the tenant and roles claims the
// portal reads. The signing key is made afresh at every start and kept in memory only.
//
// Settings (environment):
//   OIDC_ISSUER          https://127.0.0.1:PORT (the issuer, also the address it listens on)
//   OIDC_TLS_CERT/KEY    PEM files of its server certificate
//   OIDC_RESOURCE        the portal's API (the audience of its tokens)
//   OIDC_OTHER_RESOURCE  another API the test client may ask tokens for (wrong audience)
//   OIDC_PORTAL_CLIENT_ID / OIDC_PORTAL_CLIENT_SECRET / OIDC_PORTAL_REDIRECT_URI
//   OIDC_USERS           the users file (default: users.json beside this script)
//   OIDC_TENANT_CLAIM / OIDC_ROLES_CLAIM  names of the claims (eco_tenant, eco_roles)
import { generateKeyPairSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider from 'oidc-provider';

const here = path.dirname(fileURLToPath(import.meta.url));
const env = (name, fallback) => {
  const value = process.env[name];
  if (value === undefined || value === '') {
    if (fallback === undefined) {
      console.error(`oidc: ${name} must be set`);
      process.exit(2);
    }
    return fallback;
  }
  return value;
};

const ISSUER = env('OIDC_ISSUER');
const RESOURCE = env('OIDC_RESOURCE');
const OTHER_RESOURCE = env('OIDC_OTHER_RESOURCE', 'https://other-api.invalid/');
const TENANT_CLAIM = env('OIDC_TENANT_CLAIM', 'eco_tenant');
const ROLES_CLAIM = env('OIDC_ROLES_CLAIM', 'eco_roles');
const SHORT_LIVED_CLIENT = 'eco-short-lived';
const users = JSON.parse(readFileSync(env('OIDC_USERS', path.join(here, 'users.json')), 'utf8'));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };

const nativeClient = (clientId) => ({
  client_id: clientId,
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: ['http://127.0.0.1/callback'],
});

const configuration = {
  clients: [
    {
      client_id: env('OIDC_PORTAL_CLIENT_ID', 'eco-portal'),
      client_secret: env('OIDC_PORTAL_CLIENT_SECRET'),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [env('OIDC_PORTAL_REDIRECT_URI')],
      post_logout_redirect_uris: [new URL('/', env('OIDC_PORTAL_REDIRECT_URI')).href],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    nativeClient('eco-cli'),
    nativeClient(SHORT_LIVED_CLIENT),
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'api'],
  claims: { openid: ['sub'], profile: ['name', TENANT_CLAIM, ROLES_CLAIM] },
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => (oneOf ? oneOf[0] : RESOURCE),
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator, client) => {
        if (indicator !== RESOURCE && indicator !== OTHER_RESOURCE) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: 'api',
          audience: indicator,
          accessTokenFormat: 'jwt',
          accessTokenTTL: client.clientId === SHORT_LIVED_CLIENT ? 2 : 900,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // The tenant and roles go into the access token, where the portal reads them.
  extraTokenClaims: async (ctx, token) => {
    const user = users[token.accountId];
    return user ? { [TENANT_CLAIM]: user.tenant, [ROLES_CLAIM]: user.roles, name: user.name } : {};
  },
  findAccount: async (ctx, id) => {
    const user = users[id];
    if (!user) return undefined;
    return {
      accountId: id,
      claims: async () => ({ sub: id, name: user.name, [TENANT_CLAIM]: user.tenant, [ROLES_CLAIM]: user.roles }),
    };
  },
  // The demo's clients are first-party: a signed-in user grants them the portal's API.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile');
    grant.addOIDCClaims(['sub', 'name', TENANT_CLAIM, ROLES_CLAIM]);
    grant.addResourceScope(RESOURCE, 'api');
    grant.addResourceScope(OTHER_RESOURCE, 'api');
    await grant.save();
    return grant;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600, AuthorizationCode: 60, IdToken: 900 },
};

const provider = new Provider(ISSUER, configuration);
provider.proxy = false;

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, message) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title>
<style>body{font-family:sans-serif;max-width:26rem;margin:4rem auto}label{display:block;margin:.6rem 0}
input{width:100%;padding:.4rem}.error{color:#a00}</style></head><body>
<h1>eco-pipeline demo sign-in</h1>${message ? `<p class="error">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>User <input name="username" autocomplete="username" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form></body></html>`;
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 8192) reject(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

function samePassword(given, expected) {
  const a = Buffer.from(String(given));
  const b = Buffer.from(String(expected));
  return a.length === b.length && timingSafeEqual(a, b);
}

async function interaction(req, res) {
  const url = new URL(req.url, ISSUER);
  const match = url.pathname.match(/^\/interaction\/([\w-]+)(\/login)?$/);
  const details = await provider.interactionDetails(req, res);
  if (!match || details.uid !== match[1]) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('unknown interaction');
    return;
  }
  const html = (status, body) => res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // No form-action: browsers apply it to the redirects that end at the client.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  }).end(body);
  if (details.prompt.name === 'consent') {
    // First-party clients: the grant is given without asking.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    const missing = details.prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  if (req.method === 'GET' && !match[2]) {
    html(200, loginPage(details.uid, ''));
    return;
  }
  if (req.method === 'POST' && match[2]) {
    const form = await readForm(req);
    const username = form.get('username') || '';
    const user = Object.hasOwn(users, username) ? users[username] : undefined;
    if (!user || !samePassword(form.get('password') || '', user.password)) {
      html(401, loginPage(details.uid, 'Unknown user or wrong password.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: username } },
      { mergeWithLastSubmission: false });
    return;
  }
  res.writeHead(405).end();
}

const callback = provider.callback();
const server = https.createServer({
  cert: readFileSync(env('OIDC_TLS_CERT')),
  key: readFileSync(env('OIDC_TLS_KEY')),
  minVersion: 'TLSv1.2',
}, (req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => {
      console.error(JSON.stringify({ event: 'interaction_failed', error: String(error) }));
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' }).end('interaction failed');
    });
    return;
  }
  callback(req, res);
});
const { hostname, port } = new URL(ISSUER);
server.listen(Number(port), hostname, () => {
  console.log(JSON.stringify({ event: 'oidc_provider_started', issuer: ISSUER, kid: signingKey.kid }));
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
