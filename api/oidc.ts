/**
 * Console sign-in with an OpenID provider: authorization code flow with PKCE (S256), state and
 * nonce, through `openid-client` (an OpenID-certified relying party). The verified subject, or a
 * verified email, maps to a human principal that an admin linked (`oidcSubject`, `email`);
 * nobody is created on the fly.
 */
import * as client from 'openid-client';
import type { Principal, PrincipalStore } from './auth';

/** The OIDC settings (`COUNTERSIGN_OIDC_*`). */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** A claim (ID token or userinfo) whose string array sets the principal's groups at each sign-in. */
  groupsClaim?: string;
}

/** Why a sign-in through the provider did not end in a session (shown to the human, never the provider's details). */
export class OidcSignInError extends Error {
  override name = 'OidcSignInError';
}

/** A group name as principals hold them (domain/api-schemas.ts). */
const GROUP_RE = /^[a-z0-9][a-z0-9._-]*$/;

/** Plain http is accepted only for a provider on this machine (tests, local development). */
function isLoopback(url: URL): boolean {
  return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

/** One configured provider, discovered on first use (and again after a failed discovery). */
export class OidcSignIn {
  private config?: Promise<client.Configuration>;

  constructor(
    readonly settings: OidcSettings,
    private readonly redirectUri: () => string,
  ) {}

  private configuration(): Promise<client.Configuration> {
    if (!this.config) {
      const issuer = new URL(this.settings.issuer);
      const insecure = issuer.protocol === 'http:' && isLoopback(issuer);
      this.config = client
        .discovery(issuer, this.settings.clientId, this.settings.clientSecret, undefined, insecure ? { execute: [client.allowInsecureRequests] } : undefined)
        .catch((err) => {
          this.config = undefined;
          throw err;
        });
    }
    return this.config;
  }

  /** Where to send the browser, and what to keep for the callback. */
  async start(): Promise<{ url: URL; state: string; nonce: string; codeVerifier: string }> {
    const config = await this.configuration();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri(),
      scope: 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url, state, nonce, codeVerifier };
  }

  /**
   * Finish the flow: exchange the code (checking state, nonce, PKCE and the ID token), read the
   * claims, and find the human they map to.
   * @param currentUrl the callback URL as the provider redirected the browser to it
   * @throws OidcSignInError when the provider's answer does not check out or maps to nobody
   */
  async finish(
    currentUrl: URL,
    login: { state: string; nonce: string; codeVerifier: string },
    principals: PrincipalStore,
  ): Promise<{ principal: Principal; issuer: string; subject: string }> {
    const config = await this.configuration();
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: login.codeVerifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw new OidcSignInError(`the identity provider's answer did not check out (${(err as Error).message})`);
    }
    const idClaims = tokens.claims();
    if (!idClaims) throw new OidcSignInError('the identity provider sent no ID token');
    let claims: Record<string, unknown> = { ...idClaims };
    // Email and groups are often only in userinfo; its subject must be the ID token's.
    if (tokens.access_token && config.serverMetadata().userinfo_endpoint) {
      try {
        const info = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        claims = { ...info, ...idClaims };
      } catch {
        // Userinfo is optional: the ID token alone still identifies the human.
      }
    }
    const issuer = config.serverMetadata().issuer;
    const subject = idClaims.sub;
    let principal = await principals.findHumanBy('oidcSubject', subject);
    if (!principal && typeof claims.email === 'string' && claims.email_verified === true) principal = await principals.findHumanBy('email', claims.email);
    if (!principal) throw new OidcSignInError('no Countersign principal is linked to this account (an admin sets its oidcSubject or email)');
    const groupsClaim = this.settings.groupsClaim;
    if (groupsClaim) {
      const value = claims[groupsClaim];
      if (Array.isArray(value)) {
        const groups = [...new Set(value.filter((g): g is string => typeof g === 'string' && g.length <= 64 && GROUP_RE.test(g)))].slice(0, 64);
        const same = groups.length === principal.groups.length && groups.every((g) => principal!.groups.includes(g));
        if (!same) principal = (await principals.syncGroups(principal.id, groups, issuer)) ?? principal;
      }
    }
    return { principal, issuer, subject };
  }
}
