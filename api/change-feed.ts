import { EventEmitter } from 'node:events';
import pg from 'pg';
import { ACTION_CHANGED_CHANNEL } from '../activities/change-notifier';
import { PRINCIPAL_CHANGED_CHANNEL } from '../ledger/principal-repository';
import type { Logger } from '../runtime/logger';

/** The emitter event that carries every change (action ids are never this string). */
const ANY_ACTION = Symbol('any action');

/**
 * One LISTEN connection per API process, fanned out in memory: a thousand agents long-polling
 * cost one Postgres connection and no polling of Temporal.
 */
export class ChangeFeed {
  private readonly emitter = new EventEmitter();
  /** Principal changes (api/auth.ts drops what it cached about the principal). */
  private readonly principalListeners: ((principalId: string) => void)[] = [];
  private client?: pg.Client;
  private closed = false;
  private reconnectTimer?: NodeJS.Timeout;

  constructor(
    private readonly databaseUrl: string,
    private readonly log: Logger,
  ) {
    this.emitter.setMaxListeners(0);
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    client.on('notification', (msg) => {
      if (!msg.payload) return;
      if (msg.channel === PRINCIPAL_CHANGED_CHANNEL) return this.principalChanged(msg.payload);
      this.emitter.emit(msg.payload);
      this.emitter.emit(ANY_ACTION, msg.payload);
    });
    client.on('error', (err) => {
      this.log.warn({ err: err.message }, 'change feed connection lost; reconnecting');
      this.scheduleReconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${ACTION_CHANGED_CHANNEL}`);
    await client.query(`LISTEN ${PRINCIPAL_CHANGED_CHANNEL}`);
    this.client = client;
    this.principalChanged('*');
    // Anything that changed while we were disconnected: wake every waiter to re-read.
    this.emitter.emit('*');
    this.emitter.emit(ANY_ACTION, '*');
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.client?.end().catch(() => {});
    this.client = undefined;
    // Principal changes may be missed until the connection is back: caches stop trusting themselves.
    this.principalChanged('*');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.start().catch(() => this.scheduleReconnect());
    }, 1000);
  }

  /**
   * Resolve when `check()` returns a value, re-checking on every change of `actionId`,
   * or with undefined after `timeoutMs`. Subscribes before the first check, so no change is missed.
   */
  async waitFor<T>(actionId: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T | undefined> {
    let wake: () => void = () => {};
    let changed = false;
    const onChange = () => {
      changed = true;
      wake();
    };
    this.emitter.on(actionId, onChange);
    this.emitter.on('*', onChange);
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        changed = false;
        const value = await check();
        if (value !== undefined) return value;
        const left = deadline - Date.now();
        // Closing (the process is draining): answer now with what there is.
        if (left <= 0 || this.closed) return undefined;
        if (!changed) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, left);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      }
    } finally {
      this.emitter.off(actionId, onChange);
      this.emitter.off('*', onChange);
    }
  }

  /**
   * Call `listener` with the id of every action that changes, and with `'*'` after a reconnect
   * (anything may have changed meanwhile). For streams such as the console's inbox events;
   * returns the unsubscribe function.
   */
  subscribe(listener: (actionId: string) => void): () => void {
    this.emitter.on(ANY_ACTION, listener);
    return () => this.emitter.off(ANY_ACTION, listener);
  }

  /** Whether notifications arrive now (the LISTEN connection is up). */
  get listening(): boolean {
    return this.client !== undefined && !this.closed;
  }

  /** Call `listener` with a principal's id whenever it changes in any process, `'*'` when changes may have been missed. */
  onPrincipalChanged(listener: (principalId: string) => void): void {
    this.principalListeners.push(listener);
  }

  private principalChanged(id: string): void {
    for (const l of this.principalListeners) l(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.emitter.emit('*');
    await this.client?.end().catch(() => {});
  }
}
