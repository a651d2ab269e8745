import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../runtime/config';
import { slackSignatureValid } from '../../api/routes/slack';
import { createHmac } from 'node:crypto';

// The console sign-in and Slack settings: defaults, and each mistake refused at start with a line
// naming the variable.

function refusal(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('the configuration loaded');
}

describe('sign-in and Slack configuration', () => {
  it('when nothing is set, then sessions last 12 h, there is no OIDC and no Slack', () => {
    const c = loadConfig({});
    expect(c.sessionTtlMs).toBe(12 * 3_600_000);
    expect(c.oidc).toBeUndefined();
    expect(c.slack).toBeUndefined();
  });

  it('when COUNTERSIGN_SESSION_TTL is a duration, then it is used; under a minute or not a duration is refused', () => {
    expect(loadConfig({ COUNTERSIGN_SESSION_TTL: '30m' }).sessionTtlMs).toBe(30 * 60_000);
    expect(refusal({ COUNTERSIGN_SESSION_TTL: '10s' })).toMatch(/COUNTERSIGN_SESSION_TTL/);
    expect(refusal({ COUNTERSIGN_SESSION_TTL: 'forever' })).toMatch(/COUNTERSIGN_SESSION_TTL/);
  });

  it('when only some OIDC variables are set, then the start is refused naming them', () => {
    expect(refusal({ COUNTERSIGN_OIDC_ISSUER: 'https://idp.example' })).toMatch(/COUNTERSIGN_OIDC_ISSUER, COUNTERSIGN_OIDC_CLIENT_ID and COUNTERSIGN_OIDC_CLIENT_SECRET go together/);
    const c = loadConfig({ COUNTERSIGN_OIDC_ISSUER: 'https://idp.example', COUNTERSIGN_OIDC_CLIENT_ID: 'cs', COUNTERSIGN_OIDC_CLIENT_SECRET: 's', COUNTERSIGN_OIDC_GROUPS_CLAIM: 'groups' });
    expect(c.oidc).toEqual({ issuer: 'https://idp.example', clientId: 'cs', clientSecret: 's', groupsClaim: 'groups' });
  });

  it('when Slack is set, then the API URL defaults to Slack\'s', () => {
    expect(loadConfig({ COUNTERSIGN_SLACK_BOT_TOKEN: 'xoxb-1', COUNTERSIGN_SLACK_SIGNING_SECRET: 'x' }).slack).toEqual({ botToken: 'xoxb-1', signingSecret: 'x', apiUrl: 'https://slack.com/api' });
  });
});

describe('Slack request signatures', () => {
  const body = Buffer.from('payload=%7B%7D');
  const sign = (ts: string, secret = 'secret', b = body) => `v0=${createHmac('sha256', secret).update(`v0:${ts}:${b}`).digest('hex')}`;
  const now = 1_700_000_000;

  it('when the signature is Slack\'s for this body and a recent timestamp, then it is valid', () => {
    expect(slackSignatureValid('secret', String(now), body, sign(String(now)), now)).toBe(true);
    expect(slackSignatureValid('secret', String(now - 299), body, sign(String(now - 299)), now)).toBe(true);
  });

  it('when the secret, body, timestamp or format differ, or the timestamp is over 5 minutes off, then it is not', () => {
    expect(slackSignatureValid('secret', String(now), body, sign(String(now), 'other'), now)).toBe(false);
    expect(slackSignatureValid('secret', String(now), Buffer.from('payload=%7B%22x%22%7D'), sign(String(now)), now)).toBe(false);
    expect(slackSignatureValid('secret', String(now + 1), body, sign(String(now)), now)).toBe(false);
    expect(slackSignatureValid('secret', String(now - 301), body, sign(String(now - 301)), now)).toBe(false);
    expect(slackSignatureValid('secret', String(now + 301), body, sign(String(now + 301)), now)).toBe(false);
    expect(slackSignatureValid('secret', String(now), body, sign(String(now)).replace('v0=', 'v1='), now)).toBe(false);
    expect(slackSignatureValid('secret', undefined, body, sign(String(now)), now)).toBe(false);
    expect(slackSignatureValid('secret', 'abc', body, sign('abc'), now)).toBe(false);
  });
});
