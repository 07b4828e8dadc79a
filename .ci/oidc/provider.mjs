// A municipality's OpenID Connect provider for the console's sign-in tests: panva's
// oidc-provider (OpenID Certified), configured here and nowhere else. Its own development
// pages stand in for the municipality's sign-in screen (any password; the login names the
// account). Started by tests/oidc/provider.py with one JSON argument:
//   {"issuer", "port", "cert", "key", "clients": [...], "accounts": {login: claims}}
// and answers over TLS on 127.0.0.1 only (the certificate from the tests' own CA).
import fs from 'node:fs';
import https from 'node:https';
import Provider from 'oidc-provider';

const settings = JSON.parse(process.argv[2]);

const provider = new Provider(settings.issuer, {
  clients: settings.clients,
  scopes: ['openid', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  async findAccount(ctx, id) {
    const claims = settings.accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ['a test provider, never a real one'] },
});
provider.on('server_error', (ctx, error) => console.error('server_error', error));

https
  .createServer({ cert: fs.readFileSync(settings.cert), key: fs.readFileSync(settings.key) },
    provider.callback())
  .listen(settings.port, '127.0.0.1', () => console.log('listening'));
