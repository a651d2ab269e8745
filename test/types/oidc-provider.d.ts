/**
 * The part of `oidc-provider` (a devDependency that ships no types) test/integration/oidc.test.ts
 * uses: a real OpenID provider run inside the test.
 */
declare module 'oidc-provider' {
  import type { Server } from 'node:http';

  interface Account {
    accountId: string;
    claims(): Promise<Record<string, unknown>>;
  }
  interface Context {
    path: string;
    querystring: string;
  }
  interface Configuration {
    clients?: Record<string, unknown>[];
    pkce?: { required?: () => boolean };
    claims?: Record<string, string[]>;
    features?: Record<string, unknown>;
    findAccount?: (ctx: Context, id: string) => Promise<Account | undefined>;
  }
  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    use(middleware: (ctx: Context, next: () => Promise<void>) => Promise<void>): void;
    listen(port: number, host: string, callback: () => void): Server;
  }
}
