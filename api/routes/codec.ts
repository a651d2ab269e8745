/**
 * The codec endpoint: Temporal's remote codec protocol over the payload codec
 * (runtime/payload-codec.ts), so the Temporal Web UI (and `temporal --codec-endpoint`) can show
 * the histories Countersign writes encrypted. `POST /codec/decode` and `/codec/encode` take and
 * answer `{ payloads: [...] }` in protobuf JSON. Reading decoded payloads is an operator power:
 * an operator's or admin's bearer token, or (once the console exists) its session cookie.
 */
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { codecPayloadsSchema, type CodecPayload } from '../../domain/codec-schemas';
import { authenticate, requireRole, type Principal, type PrincipalStore } from '../auth';
import { parseBody } from '../validate';

/** The codec paths (the UI and CLI append `/decode` and `/encode` to the endpoint they are given). */
const CODEC_PATH_RE = /^\/codec\/(encode|decode)\/?$/i;

/** Request headers the Temporal UI sends to a codec endpoint (its fetch makes the browser preflight them). */
const ALLOWED_REQUEST_HEADERS = 'Authorization, Content-Type, X-Namespace';

/**
 * The hook for the console's session cookie: given a codec request that carries a cookie and
 * comes from the trusted origin, the principal its session belongs to (undefined: no valid
 * session). The console does not exist yet, so nothing implements it and only bearer tokens
 * authenticate; when it does, pass it as `consoleSession` and the Temporal UI's "include
 * cross-origin credentials" setting makes the browser send the cookie.
 */
export type ConsoleSessionAuthenticator = (req: Request) => Promise<Principal | undefined>;

/** What the codec routes need. */
export interface CodecRouteDeps {
  codec: PayloadCodec;
  principals: PrincipalStore;
  /** The one browser origin trusted with credentials (the Temporal UI's); undefined trusts none. */
  uiOrigin?: string;
  consoleSession?: ConsoleSessionAuthenticator;
}

/**
 * Exact-origin CORS for the codec paths, ahead of authentication, so a preflight (OPTIONS, which
 * carries no credentials) is answered without any, and a 401 still reaches the UI's script. Only
 * the trusted origin gets `Access-Control-Allow-*`; any other origin gets none, and the browser
 * keeps the answer from its page. The OPTIONS answer itself (204 with Allow) comes after, from
 * the OpenAPI method check.
 */
export function codecCors(uiOrigin: string | undefined): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!CODEC_PATH_RE.test(req.path)) return next();
    res.vary('Origin');
    if (uiOrigin === undefined || req.headers.origin !== uiOrigin) return next();
    res.setHeader('Access-Control-Allow-Origin', uiOrigin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST');
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_REQUEST_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
    }
    next();
  };
}

/**
 * Who calls the codec: the console session when the hook is given, the request carries a cookie
 * and no Authorization header, and it comes from the trusted origin (a cookie rides along with any
 * cross-site request; the Origin check is what keeps another site from using it); otherwise the
 * bearer token, as on /v1.
 */
function authenticateCodecCaller(deps: CodecRouteDeps): RequestHandler {
  const bearer = authenticate(deps.principals);
  return async (req: Request, res: Response, next: NextFunction) => {
    const sessionCandidate = deps.consoleSession && req.headers.authorization === undefined && req.headers.cookie && deps.uiOrigin && req.headers.origin === deps.uiOrigin;
    if (sessionCandidate) {
      const principal = await deps.consoleSession!(req);
      if (principal) {
        req.principal = principal;
        return next();
      }
    }
    return bearer(req, res, next);
  };
}

/** `POST /codec/encode` and `POST /codec/decode` (operator or admin). */
export function codecRoutes(deps: CodecRouteDeps): Router {
  const router = Router();
  const convert = (direction: 'encode' | 'decode'): RequestHandler =>
    async (req: Request, res: Response) => {
      const { payloads } = parseBody(codecPayloadsSchema, req.body);
      const given = payloads.map(fromJson);
      const converted = await deps.codec[direction](given);
      // Decoded payloads are plaintext params: never cached on the way.
      res.setHeader('Cache-Control', 'no-store');
      // What the codec passed through (plaintext, an unknown key, tampered ciphertext) goes back as it came.
      res.json({ payloads: converted.map((p, i) => (p === given[i] ? payloads[i] : toJson(p))) });
    };
  const guard = [authenticateCodecCaller(deps), requireRole('operator', 'admin')];
  router.post('/codec/encode', ...guard, convert('encode'));
  router.post('/codec/decode', ...guard, convert('decode'));
  return router;
}

function fromJson(p: CodecPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toJson(p: Payload): CodecPayload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
}
