// @sd-jwt/core (OpenWallet Foundation) as the reference the tests hold ours to: it issues an
// SD-JWT from given claims, or verifies one, with an Ed25519 key given as a JWK. One JSON
// request on stdin, one JSON answer on stdout:
//   {"op": "issue", "jwk": <private OKP JWK>, "claims": {...}, "frame": {"_sd": [...], "_sd_decoy": n}}
//     -> {"sdjwt": "<jwt>~<disclosure>~...~"}
//   {"op": "verify", "jwk": <public OKP JWK>, "sdjwt": "..."}
//     -> {"ok": true, "payload": {...}} or {"ok": false, "error": "..."}
import crypto from 'node:crypto';
import { SDJwtInstance } from '@sd-jwt/core';
import { digest, generateSalt } from '@sd-jwt/crypto-nodejs';

const b64url = (buffer) => Buffer.from(buffer).toString('base64url');

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const key = request.jwk.d
    ? crypto.createPrivateKey({ key: request.jwk, format: 'jwk' })
    : crypto.createPublicKey({ key: request.jwk, format: 'jwk' });
  const sdjwt = new SDJwtInstance({
    signer: async (data) => b64url(crypto.sign(null, Buffer.from(data), key)),
    verifier: async (data, signature) =>
      crypto.verify(null, Buffer.from(data), key, Buffer.from(signature, 'base64url')),
    signAlg: 'EdDSA',
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
  });
  if (request.op === 'issue') {
    return { sdjwt: await sdjwt.issue(request.claims, request.frame) };
  }
  try {
    const verified = await sdjwt.verify(request.sdjwt);
    return { ok: true, payload: verified.payload };
  } catch (error) {
    return { ok: false, error: String(error && error.message || error) };
  }
}

main().then(
  (answer) => process.stdout.write(JSON.stringify(answer)),
  (error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); },
);
