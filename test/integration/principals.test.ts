import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createLogger } from '../../runtime/logger';
import { startServices, type Services } from '../../runtime/stack';
import { testPolicy } from '../fixtures/policy';
import { call, eventually, startTestStack, type TestStack } from '../helpers/stack';

describe('principal management and tokens', () => {
  let stack: TestStack;
  /** A second API process on the same Postgres (another replica behind the load balancer). */
  let second: Services;
  let secondDir: string;
  let annToken: string;
  let aliceToken: string;

  beforeAll(async () => {
    const policy = testPolicy('http://127.0.0.1:9');
    stack = await startTestStack(policy);
    secondDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-api2-'));
    fs.writeFileSync(path.join(secondDir, 'policy.yaml'), policy);
    second = await startServices({
      databaseUrl: (stack.pool.options as { connectionString: string }).connectionString,
      temporalAddress: inject('temporalAddress'),
      namespace: 'default',
      taskQueue: stack.taskQueue,
      dataDir: secondDir,
      port: 0,
      policyFile: path.join(secondDir, 'policy.yaml'),
      adminToken: stack.admin,
      executorSecret: 'test-executor-secret-0123456789',
      temporalUiUrl: 'http://localhost:8233',
      maxBodyBytes: 1024 * 1024,
      log: createLogger('silent'),
      worker: false,
    });
    annToken = await stack.principal('ann', 'human', ['admin'], []);
    aliceToken = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    await stack.principal('bot', 'agent', ['agent']);
  });
  afterAll(async () => {
    await second?.stop();
    await stack?.stop();
    if (secondDir) fs.rmSync(secondDir, { recursive: true, force: true });
  });

  const chain = async (id: string) =>
    (await stack.pool.query(`SELECT type, actor_id, data FROM ledger_events WHERE action_id = $1 ORDER BY seq`, [`principal:${id}`])).rows as { type: string; actor_id: string; data: any }[];

  /** How long after `since` a token first answers 401 on `base` (polling every 20 ms). */
  const refusedWithin = async (base: string, token: string, since: number) => {
    await eventually(async () => (await call(base, token, 'GET', '/v1/session')).status === 401, 5000, '401');
    return Date.now() - since;
  };

  it('when an admin lists principals, then every stored one with its identities; a reviewer may not', async () => {
    const r = await stack.call(stack.admin, 'GET', '/v1/principals');
    expect(r.status).toBe(200);
    const alice = r.body.items.find((p: { id: string }) => p.id === 'alice');
    expect(alice).toEqual({ id: 'alice', kind: 'human', roles: ['reviewer'], groups: ['finance'], attributes: {}, delegates: [], disabled: false, email: null, oidcSubject: null, slackUserId: null });
    expect((await stack.call(aliceToken, 'GET', '/v1/principals')).status).toBe(403);
    // Anyone reads itself; not others.
    expect((await stack.call(aliceToken, 'GET', '/v1/principals/alice')).status).toBe(200);
    expect((await stack.call(aliceToken, 'GET', '/v1/principals/ann')).status).toBe(404);
  });

  it('when a human is created with its identities, then they are stored; an agent with one, or an identity already taken, is refused', async () => {
    const r = await stack.call(stack.admin, 'POST', '/v1/principals', { id: 'carl', kind: 'human', roles: ['reviewer'], groups: ['finance'], email: 'carl@example.com', oidcSubject: 'carl-sub', slackUserId: 'U0CARL' });
    expect(r.status).toBe(201);
    expect((await stack.call(stack.admin, 'GET', '/v1/principals/carl')).body).toMatchObject({ email: 'carl@example.com', oidcSubject: 'carl-sub', slackUserId: 'U0CARL' });
    const agent = await stack.call(stack.admin, 'POST', '/v1/principals', { id: 'bot-2', kind: 'agent', roles: ['agent'], slackUserId: 'U0BOT2' });
    expect(agent.status).toBe(422);
    expect(agent.body.errors[0].path).toBe('/slackUserId');
    const taken = await stack.call(stack.admin, 'POST', '/v1/principals', { id: 'carl2', kind: 'human', roles: ['reviewer'], email: 'CARL@example.com' });
    expect(taken.status).toBe(409);
    expect((await stack.call(stack.admin, 'GET', '/v1/principals/carl2')).status).toBe(404);
  });

  it('when an admin patches a principal, then 200 with the principal as it is now, and a ledger event records each field before and after', async () => {
    const r = await stack.call(annToken, 'PATCH', '/v1/principals/alice', { groups: ['finance', 'legal'], attributes: { region: 'eu' }, email: 'Alice@Example.com', slackUserId: 'U0ALICE1' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ id: 'alice', groups: ['finance', 'legal'], attributes: { region: 'eu' }, email: 'Alice@Example.com', slackUserId: 'U0ALICE1' });
    const events = await chain('alice');
    expect(events.map((e) => e.type)).toEqual(['principal_created', 'token_created', 'principal_updated']);
    expect(events[2]!.actor_id).toBe('ann');
    expect(events[2]!.data.changes.groups).toEqual({ from: ['finance'], to: ['finance', 'legal'] });
    expect(events[2]!.data.changes.slackUserId).toEqual({ from: null, to: 'U0ALICE1' });
    // The token the caller holds sees the new groups at once.
    expect((await stack.call(aliceToken, 'GET', '/v1/session')).body.principal.groups).toEqual(['finance', 'legal']);
    // The ledger still verifies with the principal chains in it.
    const verify = await stack.call(stack.admin, 'GET', '/v1/ledger/verify');
    expect(verify.body.ok).toBe(true);
  });

  it('when a principal changes its own roles, groups, delegates or disabled flag, then 403 and nothing changes (attack: self-grant)', async () => {
    for (const body of [{ roles: ['admin', 'reviewer'] }, { groups: ['finance'] }, { delegates: ['bot'] }, { disabled: true }]) {
      const r = await stack.call(annToken, 'PATCH', '/v1/principals/ann', body);
      expect(r.status, JSON.stringify(body)).toBe(403);
    }
    const ann = await stack.call(stack.admin, 'GET', '/v1/principals/ann');
    expect(ann.body).toMatchObject({ roles: ['admin'], groups: [], delegates: [], disabled: false });
    expect((await chain('ann')).map((e) => e.type)).toEqual(['principal_created', 'token_created']);
    // Its own identities are not grants.
    expect((await stack.call(annToken, 'PATCH', '/v1/principals/ann', { email: 'ann@example.com' })).status).toBe(200);
  });

  it('when a non-admin patches anyone, then 403; bad changes are 422 or 409 and change nothing', async () => {
    expect((await stack.call(aliceToken, 'PATCH', '/v1/principals/alice', { roles: ['admin'] })).status).toBe(403);
    expect((await stack.call(aliceToken, 'PATCH', '/v1/principals/bot', { disabled: true })).status).toBe(403);
    expect((await stack.call(annToken, 'PATCH', '/v1/principals/bot', { roles: ['reviewer'] })).status).toBe(422);
    expect((await stack.call(annToken, 'PATCH', '/v1/principals/bot', { slackUserId: 'U0BOT' })).status).toBe(422);
    expect((await stack.call(annToken, 'PATCH', '/v1/principals/alice', { delegates: ['alice'] })).status).toBe(422);
    expect((await stack.call(annToken, 'PATCH', '/v1/principals/alice', {})).status).toBe(422);
    expect((await stack.call(annToken, 'PATCH', '/v1/principals/alice', { roles: ['wizard'] })).status).toBe(422);
    expect((await stack.call(annToken, 'PATCH', '/v1/principals/ann', { slackUserId: 'U0ALICE1' })).status).toBe(409);
    expect((await stack.call(annToken, 'PATCH', '/v1/principals/nobody', { groups: [] })).status).toBe(404);
    expect((await stack.call(annToken, 'PATCH', '/v1/principals/admin', { groups: [] })).status).toBe(409);
    expect((await stack.call(stack.admin, 'GET', '/v1/principals/bot')).body).toMatchObject({ roles: ['agent'], disabled: false, slackUserId: null });
  });

  it('when an admin creates tokens, then each works, expires when it says, and the list shows metadata only', async () => {
    const r = await stack.call(stack.admin, 'POST', '/v1/principals/alice/tokens', { expiresIn: '1h' });
    expect(r.status).toBe(201);
    expect(r.body.token).toMatch(/^cs_[0-9a-f]{16}_/);
    expect(Math.abs(Date.parse(r.body.expiresAt) - Date.now() - 3_600_000)).toBeLessThan(5000);
    expect((await stack.call(r.body.token, 'GET', '/v1/approvals')).status).toBe(200);
    const forever = await stack.call(stack.admin, 'POST', '/v1/principals/alice/tokens');
    expect(forever.status).toBe(201);
    expect(forever.body.expiresAt).toBeNull();

    const short = await stack.call(stack.admin, 'POST', '/v1/principals/alice/tokens', { expiresIn: '1s' });
    expect((await stack.call(short.body.token, 'GET', '/v1/session')).status).toBe(200);
    await new Promise((res) => setTimeout(res, 1100));
    expect((await stack.call(short.body.token, 'GET', '/v1/session')).status).toBe(401);

    const list = await stack.call(aliceToken, 'GET', '/v1/principals/alice/tokens');
    expect(list.status).toBe(200);
    expect(list.body.items.map((t: { tokenId: string }) => t.tokenId)).toEqual(expect.arrayContaining([r.body.tokenId, forever.body.tokenId, short.body.tokenId]));
    expect(JSON.stringify(list.body)).not.toMatch(/scrypt|cs_[0-9a-f]{16}_/);
    expect(Object.keys(list.body.items[0]).sort()).toEqual(['createdAt', 'createdBy', 'expiresAt', 'revokedAt', 'revokedBy', 'tokenId']);

    expect((await stack.call(stack.admin, 'POST', '/v1/principals/alice/tokens', { expiresIn: 'soon' })).status).toBe(422);
    expect((await stack.call(stack.admin, 'POST', '/v1/principals/alice/tokens', { expiresIn: '0s' })).status).toBe(422);
    expect((await stack.call(stack.admin, 'POST', '/v1/principals/nobody/tokens', {})).status).toBe(404);
    // A principal lists and revokes its own tokens, but does not mint them, nor see others'.
    expect((await stack.call(aliceToken, 'POST', '/v1/principals/alice/tokens', {})).status).toBe(403);
    expect((await stack.call(aliceToken, 'GET', '/v1/principals/ann/tokens')).status).toBe(404);
    expect((await stack.call(aliceToken, 'DELETE', `/v1/principals/ann/tokens/${r.body.tokenId}`)).status).toBe(404);
    expect((await stack.call(aliceToken, 'DELETE', `/v1/principals/alice/tokens/${forever.body.tokenId}`)).status).toBe(204);
    expect((await stack.call(forever.body.token, 'GET', '/v1/session')).status).toBe(401);
    const types = (await chain('alice')).map((e) => e.type);
    expect(types.filter((t) => t === 'token_created').length).toBe(4);
    expect(types).toContain('token_revoked');
  });

  it('when a token is revoked in one API process, then another process that has it cached answers 401 within 1 s (attack: revoked token)', async () => {
    const t = await stack.call(stack.admin, 'POST', '/v1/principals/alice/tokens', {});
    // Both processes have verified (and cached) it.
    expect((await call(second.url, t.body.token, 'GET', '/v1/session')).status).toBe(200);
    expect((await call(stack.url, t.body.token, 'GET', '/v1/session')).status).toBe(200);
    const at = Date.now();
    expect((await stack.call(stack.admin, 'DELETE', `/v1/principals/alice/tokens/${t.body.tokenId}`)).status).toBe(204);
    expect((await call(stack.url, t.body.token, 'GET', '/v1/session')).status).toBe(401);
    expect(await refusedWithin(second.url, t.body.token, at)).toBeLessThan(1000);
    // Revoking again is still 204; an unknown token id is 404.
    expect((await stack.call(stack.admin, 'DELETE', `/v1/principals/alice/tokens/${t.body.tokenId}`)).status).toBe(204);
    expect((await stack.call(stack.admin, 'DELETE', '/v1/principals/alice/tokens/0000000000000000')).status).toBe(404);
  });

  it('when a principal is disabled in one process, then its tokens answer 401 in another within 1 s, and work again once enabled (attack: disabled principal)', async () => {
    const bob = await stack.principal('bob', 'human', ['reviewer'], ['finance']);
    expect((await call(second.url, bob, 'GET', '/v1/approvals')).status).toBe(200);
    const at = Date.now();
    expect((await call(second.url, annToken, 'PATCH', '/v1/principals/bob', { disabled: true })).status).toBe(200);
    expect(await refusedWithin(stack.url, bob, at)).toBeLessThan(1000);
    expect((await call(second.url, bob, 'GET', '/v1/approvals')).status).toBe(401);
    // A disabled principal gets no sign-in link either.
    expect((await stack.call(stack.admin, 'POST', '/v1/principals/bob/sign-in-links')).status).toBe(422);
    expect((await stack.call(annToken, 'PATCH', '/v1/principals/bob', { disabled: false })).status).toBe(200);
    await eventually(async () => (await call(second.url, bob, 'GET', '/v1/approvals')).status === 200, 2000, 're-enabled');
  });

  it('when any change to a principal is notified, then everything cached about it is dropped in every process', async () => {
    // A revocation written straight to Postgres, without its notification: the cache still trusts the token ...
    const t = await stack.call(stack.admin, 'POST', '/v1/principals/alice/tokens', {});
    expect((await call(second.url, t.body.token, 'GET', '/v1/session')).status).toBe(200);
    await stack.pool.query('UPDATE principal_tokens SET revoked_at = now() WHERE token_id = $1', [t.body.tokenId]);
    const touched = await stack.call(annToken, 'PATCH', '/v1/principals/alice', { attributes: { region: 'us' } });
    expect(touched.status).toBe(200);
    // ... which drops it: the next request reads Postgres.
    await eventually(async () => (await call(second.url, t.body.token, 'GET', '/v1/session')).status === 401, 1000, 'refused');
  });
});
