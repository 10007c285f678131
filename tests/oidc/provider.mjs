// A real OpenID provider for the tests (the `oidc-provider` npm package, installed in .cache/oidc by `make oidc`),
// on loopback. Its development sign-in form accepts any login and password; the login names the account.
//   OIDC_PORT      port to listen on (127.0.0.1)
//   OIDC_CLIENT    JSON: {client_id, client_secret, redirect_uris, post_logout_redirect_uris}
//   OIDC_ACCOUNTS  JSON: {login: {email, groups}}; a login not listed has no e-mail claim
//   OIDC_CLOCK_OFFSET_SECONDS  this provider's clock runs this far ahead (negative: behind) of the machine's
// Prints "ready <issuer>" once it listens.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.resolve(process.env.OIDC_MODULES, 'package.json'));
const { default: Provider } = await import(require.resolve('oidc-provider'));

const offset = Number(process.env.OIDC_CLOCK_OFFSET_SECONDS || 0) * 1000;
if (offset) {
  const realNow = Date.now;
  Date.now = () => realNow() + offset;
}
const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const client = JSON.parse(process.env.OIDC_CLIENT);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');

const provider = new Provider(issuer, {
  clients: [{ ...client, grant_types: ['authorization_code'], response_types: ['code'] }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
  scopes: ['openid', 'email', 'groups', 'offline_access'],
  conformIdTokenClaims: false, // the e-mail and groups in the ID token, as Entra ID and Keycloak can be set to do
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  cookies: { keys: ['test-only-cookie-key'] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, ...(accounts[id] || {}) }),
  }),
});
provider.listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
