import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../runtime/config';
import { temporalConnectionOptions } from '../../runtime/core';

// Configuration of the connection to an external Temporal (TLS, mTLS, API key), of the payload
// keys and of the codec endpoint's CORS origin: each mistake is refused at start with a line
// naming the variable.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-config-'));
const pemFile = (name: string, label: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `-----BEGIN ${label}-----\n${randomBytes(48).toString('base64')}\n-----END ${label}-----\n`);
  return file;
};
const CERT = pemFile('client.pem', 'CERTIFICATE');
const KEY = pemFile('client.key', 'PRIVATE KEY');
const CA = pemFile('ca.pem', 'CERTIFICATE');
const NOT_PEM = path.join(dir, 'client.der');
fs.writeFileSync(NOT_PEM, randomBytes(64));
const ADDRESS = { TEMPORAL_ADDRESS: 'temporal.example.com:7233' };

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The ConfigError's message for `env`, or a failure when it loads. */
function refusal(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('Temporal connection configuration', () => {
  it('when no TLS option or API key is set, then the connection is plain gRPC', () => {
    const config = loadConfig(ADDRESS);
    expect(config.temporalTls).toBeUndefined();
    expect(config.temporalApiKey).toBeUndefined();
    expect(temporalConnectionOptions({ temporalAddress: ADDRESS.TEMPORAL_ADDRESS, ...config })).toEqual({ address: ADDRESS.TEMPORAL_ADDRESS });
  });

  it('when a client certificate, its key, a CA and a server name are set, then the connection uses mTLS with their contents', () => {
    const config = loadConfig({ ...ADDRESS, TEMPORAL_TLS_CERT: CERT, TEMPORAL_TLS_KEY: KEY, TEMPORAL_TLS_CA: CA, TEMPORAL_TLS_SERVER_NAME: 'frontend.internal' });
    expect(config.temporalTls).toEqual({
      clientCertPair: { crt: fs.readFileSync(CERT), key: fs.readFileSync(KEY) },
      serverRootCACertificate: fs.readFileSync(CA),
      serverNameOverride: 'frontend.internal',
    });
    expect(temporalConnectionOptions({ temporalAddress: ADDRESS.TEMPORAL_ADDRESS, ...config }).tls).toBe(config.temporalTls);
  });

  it('when only TEMPORAL_TLS=true is set, then the connection uses TLS without a client certificate', () => {
    const config = loadConfig({ ...ADDRESS, TEMPORAL_TLS: 'true' });
    expect(config.temporalTls).toEqual({});
    expect(temporalConnectionOptions({ temporalAddress: ADDRESS.TEMPORAL_ADDRESS, ...config })).toEqual({ address: ADDRESS.TEMPORAL_ADDRESS, tls: {} });
  });

  it('when only an API key is set (Temporal Cloud), then the connection sends it over TLS', () => {
    const config = loadConfig({ ...ADDRESS, TEMPORAL_API_KEY: 'cloud-api-key' });
    expect(config.temporalApiKey).toBe('cloud-api-key');
    expect(temporalConnectionOptions({ temporalAddress: ADDRESS.TEMPORAL_ADDRESS, ...config })).toEqual({ address: ADDRESS.TEMPORAL_ADDRESS, tls: {}, apiKey: 'cloud-api-key' });
  });

  it.each([
    [{ TEMPORAL_TLS_CERT: CERT }, 'TEMPORAL_TLS_KEY: must be set with TEMPORAL_TLS_CERT'],
    [{ TEMPORAL_TLS_KEY: KEY }, 'TEMPORAL_TLS_CERT: must be set with TEMPORAL_TLS_KEY'],
    [{ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' }, 'TEMPORAL_TLS: is false, but TEMPORAL_API_KEY needs TLS'],
    [{ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: CA, TEMPORAL_TLS_SERVER_NAME: 'x' }, 'TEMPORAL_TLS: is false, but TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME need TLS'],
    [{ TEMPORAL_TLS: 'yes' }, 'TEMPORAL_TLS: must be true or false'],
    [{ TEMPORAL_TLS_CA: path.join(dir, 'missing.pem') }, `TEMPORAL_TLS_CA: cannot read ${path.join(dir, 'missing.pem')} (ENOENT)`],
    [{ TEMPORAL_TLS_CERT: NOT_PEM, TEMPORAL_TLS_KEY: KEY }, `TEMPORAL_TLS_CERT: ${NOT_PEM} is not a PEM file`],
  ])('when %o is set, then the start is refused with "%s"', (env, message) => {
    expect(refusal({ ...ADDRESS, ...env })).toContain(message);
  });

  it('when TLS options or an API key are set without TEMPORAL_ADDRESS, then the start is refused: the dev server npm start runs speaks plain gRPC', () => {
    expect(refusal({ TEMPORAL_TLS_CERT: CERT, TEMPORAL_TLS_KEY: KEY })).toContain('TEMPORAL_ADDRESS: must be set with TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY');
    expect(refusal({ TEMPORAL_API_KEY: 'k' })).toContain('TEMPORAL_ADDRESS: must be set with TEMPORAL_API_KEY');
  });

  it('when several settings are wrong, then every one is named at once', () => {
    const message = refusal({ ...ADDRESS, TEMPORAL_TLS_CERT: CERT, COUNTERSIGN_PAYLOAD_KEYS: 'k1:short', COUNTERSIGN_TEMPORAL_UI_ORIGIN: 'https://ui.example.com/temporal' });
    expect(message).toContain('TEMPORAL_TLS_KEY: must be set with TEMPORAL_TLS_CERT');
    expect(message).toContain('COUNTERSIGN_PAYLOAD_KEYS: entry 1 of 1 ("k1"): the key must be 32 bytes');
    expect(message).toContain('COUNTERSIGN_TEMPORAL_UI_ORIGIN: https://ui.example.com/temporal must be an origin');
  });
});

describe('payload keys and the codec origin', () => {
  it('when COUNTERSIGN_PAYLOAD_KEYS is set, then its keys are used in order; unset, the data dir provides them', () => {
    const a = randomBytes(32).toString('base64');
    const b = randomBytes(32).toString('base64');
    expect(loadConfig({ COUNTERSIGN_PAYLOAD_KEYS: `b:${b},a:${a}` }).payloadKeys?.map((k) => k.id)).toEqual(['b', 'a']);
    expect(loadConfig({}).payloadKeys).toBeUndefined();
  });

  it('when COUNTERSIGN_PAYLOAD_KEYS is wrong, then the error does not show the key', () => {
    const key = randomBytes(31).toString('base64');
    const message = refusal({ COUNTERSIGN_PAYLOAD_KEYS: `k1:${key}` });
    expect(message).toContain('COUNTERSIGN_PAYLOAD_KEYS');
    expect(message).not.toContain(key);
  });

  it('when no UI origin is set, then it is the origin of TEMPORAL_UI_URL (or of the dev server UI)', () => {
    expect(loadConfig({}).temporalUiOrigin).toBe('http://localhost:8233');
    expect(loadConfig({ TEMPORAL_UI_PORT: '9233' }).temporalUiOrigin).toBe('http://localhost:9233');
    expect(loadConfig({ TEMPORAL_UI_URL: 'https://Temporal.Example.com:443/ui/namespaces' }).temporalUiOrigin).toBe('https://temporal.example.com');
  });

  it('when COUNTERSIGN_TEMPORAL_UI_ORIGIN is set, then it is normalized as browsers send Origin, and anything but an http(s) origin is refused', () => {
    expect(loadConfig({ COUNTERSIGN_TEMPORAL_UI_ORIGIN: 'https://ui.example.com/' }).temporalUiOrigin).toBe('https://ui.example.com');
    expect(refusal({ COUNTERSIGN_TEMPORAL_UI_ORIGIN: 'ui.example.com' })).toContain('COUNTERSIGN_TEMPORAL_UI_ORIGIN: ui.example.com is not a URL');
    expect(refusal({ COUNTERSIGN_TEMPORAL_UI_ORIGIN: 'ftp://ui.example.com' })).toContain('must be an http or https origin');
  });
});
