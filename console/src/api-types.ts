/**
 * Generated from /openapi.json by console/gen-types.ts (npm run console:types). Do not edit:
 * change the API's schemas and regenerate.
 */
/* eslint-disable */
export interface paths {
    "/v1/principals": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every principal (admin or operator) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the principals, by id */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PrincipalList"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role admin or operator */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        /** Create a principal (admin); the token is shown once */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreatePrincipal"];
                };
            };
            responses: {
                /** @description created; the token is shown only here */
                201: {
                    headers: {
                        /** @description URL of the resource */
                        Location: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PrincipalCreated"];
                    };
                };
                /** @description the active bundle governs grants (rules for countersign.principal.grant): created disabled, its roles, groups and delegates proposed as this action; it is enabled once approved by someone else. The token is shown only here */
                202: {
                    headers: {
                        /** @description URL of the resource */
                        Location: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PrincipalGrantProposed"];
                    };
                };
                /** @description malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8 */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role admin */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the id is taken (or reserved: "admin") */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is not JSON (application/json or application/*+json), or its charset is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input (as every /v1 operation); an agent given a role other than agent; delegates on an agent, or naming no agent principal; attributes over their bounds */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/principals/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read a principal (admin or operator; anyone itself) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the principal */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Principal"];
                    };
                };
                /** @description malformed request: a path segment that is not percent-encoded UTF-8, or a body that is not JSON */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** Change a principal (admin): roles, groups, attributes, delegates, disabled, email, oidcSubject, slackUserId; a ledger event records each change */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["UpdatePrincipal"];
                };
            };
            responses: {
                /** @description the principal as it is now */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Principal"];
                    };
                };
                /** @description the active bundle governs grants: the roles, groups and delegates are proposed as this action (other fields took effect now) and take effect once approved by someone else */
                202: {
                    headers: {
                        /** @description URL of the resource */
                        Location: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ActionView"];
                    };
                };
                /** @description malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8 */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not an admin; or the caller changing its own roles, groups, delegates or disabled flag; csrf (a console session without X-CSRF-Token) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the bootstrap admin cannot be changed here; another principal has this email, oidcSubject or slackUserId */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is not JSON (application/json or application/*+json), or its charset is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input (as every /v1 operation); an agent given a role other than agent, delegates or sign-in identities; delegates naming no agent principal */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/v1/principals/{id}/tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A principal's tokens, metadata only (admin, or the principal itself) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the tokens, oldest first */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TokenList"];
                    };
                };
                /** @description malformed request: a path segment that is not percent-encoded UTF-8, or a body that is not JSON */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        /** Another bearer token for a principal (admin), with an optional expiry; shown once */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": components["schemas"]["CreateToken"];
                };
            };
            responses: {
                /** @description created; the token is shown only here */
                201: {
                    headers: {
                        /** @description URL of the resource */
                        Location: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TokenCreated"];
                    };
                };
                /** @description malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8 */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role admin */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the bootstrap admin token lives in the environment */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is not JSON (application/json or application/*+json), or its charset is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input (as every /v1 operation); expiresIn not a positive duration */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/principals/{id}/tokens/{tokenId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Revoke a token (admin, or the principal itself): it answers 401 everywhere within a second */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                    tokenId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description revoked (also when it already was); no body */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description malformed request: a path segment that is not percent-encoded UTF-8, or a body that is not JSON */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description csrf */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/principals/{id}/sign-in-links": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** A one-use, 15-minute console sign-in link for a human principal (admin) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the link (on COUNTERSIGN_PUBLIC_URL) and when it expires */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["SignInLink"];
                    };
                };
                /** @description malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8 */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role admin */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is not JSON (application/json or application/*+json), or its charset is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description a body with fields; the principal is an agent or disabled */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/session": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Who the console (or the bearer token) is signed in as, and until when */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the signed-in principal */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Session"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/session/sign-out": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** End the console session (X-CSRF-Token required) and clear its cookies */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description signed out; both cookies cleared; no body */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8 */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description csrf: X-CSRF-Token missing or not this session's */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is not JSON (application/json or application/*+json), or its charset is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/integrations/slack/interactions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Slack's interaction callback (Approve / Deny buttons): authenticated by X-Slack-Signature, not a token; answered at once, decided after */
        post: {
            parameters: {
                query?: never;
                header: {
                    "X-Slack-Signature": string;
                    "X-Slack-Request-Timestamp": string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/x-www-form-urlencoded": {
                        payload?: string;
                    };
                };
            };
            responses: {
                /** @description acknowledged (the decision, or an ephemeral explanation, follows in Slack) */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/plain": string;
                    };
                };
                /** @description X-Slack-Signature missing or wrong, or the timestamp more than 5 minutes off */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Slack is not configured (COUNTERSIGN_SLACK_SIGNING_SECRET) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description never: any body is verified as sent */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description a verified body without a JSON payload */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description too many failed signature checks from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/console/sign-in": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Console sign-in page (HTML) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the page */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/console/sign-in/link": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Sign-in link page (HTML): a Sign in button; opening it does not use the link up */
        get: {
            parameters: {
                query?: {
                    token?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the page with the Sign in button */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
                /** @description the link is unknown, used or expired */
                410: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
            };
        };
        put?: never;
        /** Use a sign-in link (the form of the page above): starts a session, 303 to /console */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/x-www-form-urlencoded": {
                        token?: string;
                    };
                };
            };
            responses: {
                /** @description signed in: session cookies set, on to /console */
                303: {
                    headers: {
                        /** @description URL of the resource */
                        Location: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
                /** @description the form was posted from another site */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
                /** @description the link is unknown, used or expired */
                410: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
                /** @description the form is larger than 4 KiB */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not a form (application/x-www-form-urlencoded) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/console/sign-in/oidc": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Sign in with the OpenID provider: 303 to it (authorization code + PKCE) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description on to the identity provider */
                303: {
                    headers: {
                        /** @description URL of the resource */
                        Location: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
                /** @description no provider configured */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
                /** @description the provider cannot be reached */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/console/sign-in/oidc/callback": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The OpenID provider's redirect back: starts a session, 303 to /console */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description signed in: session cookies set, on to /console */
                303: {
                    headers: {
                        /** @description URL of the resource */
                        Location: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
                /** @description no login under way in this browser */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
                /** @description the answer did not check out, or no principal is linked to the account */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
                /** @description no provider configured */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/actions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List actions visible to the caller, newest first */
        get: {
            parameters: {
                query?: {
                    status?: "evaluating" | "awaiting_approval" | "approved" | "executing" | "succeeded" | "failed" | "denied" | "expired" | "cancelled";
                    action?: string;
                    agent?: string;
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description a page of actions */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ActionPage"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        /** Propose an action (agent) */
        post: {
            parameters: {
                query?: {
                    wait?: number;
                };
                header?: {
                    "Idempotency-Key"?: string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["ProposeAction"];
                };
            };
            responses: {
                /** @description same idempotency key and body as an earlier proposal: that action */
                200: {
                    headers: {
                        /** @description URL of the resource */
                        Location: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ActionView"];
                    };
                };
                /** @description created */
                201: {
                    headers: {
                        /** @description URL of the resource */
                        Location: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ActionView"];
                    };
                };
                /** @description malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8 */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role agent */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description idempotency-conflict: same key, different body */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is not JSON (application/json or application/*+json), or its charset is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input (as every /v1 operation); unknown-action; invalid-params; not-delegated: onBehalfOf names no human who delegated to this agent */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/actions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read an action; ?wait=&since= long-polls for a change */
        get: {
            parameters: {
                query?: {
                    wait?: number;
                    since?: "evaluating" | "awaiting_approval" | "approved" | "executing" | "succeeded" | "failed" | "denied" | "expired" | "cancelled";
                };
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the action */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ActionView"];
                    };
                };
                /** @description malformed request: a path segment that is not percent-encoded UTF-8, or a body that is not JSON */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/actions/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Cancel before execution (proposing agent or operator) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": components["schemas"]["Cancel"];
                };
            };
            responses: {
                /** @description cancelled */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ActionView"];
                    };
                };
                /** @description malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8 */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description neither the proposing agent nor an operator */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not-cancellable; action-stopped */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is not JSON (application/json or application/*+json), or its charset is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/actions/{id}/result": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Executor agent: report the outcome */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["Result"];
                };
            };
            responses: {
                /** @description recorded */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ActionView"];
                    };
                };
                /** @description malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8 */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not the proposing agent */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not-awaiting-result; action-stopped */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is not JSON (application/json or application/*+json), or its charset is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/actions/{id}/decisions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Approve or deny (reviewer); approve with params = approve with edits */
        post: {
            parameters: {
                query?: never;
                header?: {
                    "Idempotency-Key"?: string;
                };
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["Decision"];
                };
            };
            responses: {
                /** @description accepted */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ActionView"];
                    };
                };
                /** @description malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8 */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not a reviewer; not-eligible; self-approval; already-voted */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not-pending; idempotency-conflict (same Idempotency-Key, different body); action-stopped (a write Countersign could not record stopped the action) */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is not JSON (application/json or application/*+json), or its charset is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/approvals": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** What the caller may decide now, oldest deadline first */
        get: {
            parameters: {
                query?: {
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description a page of actions */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ActionPage"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role reviewer */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/approvals/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The inbox, live (reviewer): server-sent events `upsert` (data: InboxUpsert, an action the caller may decide now), `remove` (data: InboxRemove, one they could decide and no longer can), `resync` (reload the inbox); the stream ends after two minutes and the browser reconnects */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description an event stream (text/event-stream) */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/event-stream": string;
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role reviewer */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/actions/{id}/review": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Everything the console shows about an action: its view, model, params schema, approval plan, evidence timeline and whether the caller may decide it */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the action, for review */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ActionReview"];
                    };
                };
                /** @description malformed request: a path segment that is not percent-encoded UTF-8, or a body that is not JSON */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/actions/{id}/edit-preview": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Approve with edits, before it is sent (reviewer who may approve now): the plan policy gives the edited params; nothing is decided */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["EditPreviewRequest"];
                };
            };
            responses: {
                /** @description the decision policy would make for the edited params */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["EditPreview"];
                    };
                };
                /** @description malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8 */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not a reviewer; not-eligible; self-approval; already-voted */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not-pending */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is not JSON (application/json or application/*+json), or its charset is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input (as every /v1 operation); invalid-params: the edited params fail the schema; "***" where no hidden value can be kept */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/policy/versions/{version}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The text of one stored policy version (operator) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    version: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the bundle text */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PolicySource"];
                    };
                };
                /** @description malformed request: a path segment that is not percent-encoded UTF-8, or a body that is not JSON */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role operator */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/policy": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Active policy version (operator) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the active version */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ActivePolicy"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role operator */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        /** Validate and activate a bundle (YAML or JSON text) (operator) */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/yaml": string;
                    "application/json": Record<string, never>;
                    "text/plain": string;
                };
            };
            responses: {
                /** @description activated */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ActivePolicy"];
                    };
                };
                /** @description the active bundle governs policy changes (rules for countersign.policy.activate): the activation was proposed as this action and takes effect once approved */
                202: {
                    headers: {
                        /** @description URL of the resource */
                        Location: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ActionView"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role operator */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body names a charset that is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid-policy: errors with path, line, column and hint; empty body; text Postgres cannot store */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/policy/versions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Stored policy versions (operator) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description every stored version */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PolicyVersions"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role operator */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/policy/backtest": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Replay recorded actions against a candidate bundle (YAML or JSON text); nothing changes (operator) */
        post: {
            parameters: {
                query?: {
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/yaml": string;
                    "application/json": Record<string, never>;
                    "text/plain": string;
                };
            };
            responses: {
                /** @description what the candidate would change */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["BacktestReport"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role operator */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body names a charset that is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid-policy: errors with path, line, column and hint; empty body; limit out of range */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/policy/evaluate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Dry-run a decision against the active or a candidate bundle; nothing is started (operator) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["Evaluate"];
                };
            };
            responses: {
                /** @description the decision, with the stored facts it was made with */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PolicyDecision"];
                    };
                };
                /** @description malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8 */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role operator */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is not JSON (application/json or application/*+json), or its charset is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input (as every /v1 operation); unknown-action; invalid-policy (bundle); not-delegated: onBehalfOf names no human who delegated to the agent */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/actions/{id}/evidence": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Signed evidence bundle (operator, or the proposing agent) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the bundle */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["EvidenceBundle"];
                    };
                };
                /** @description malformed request: a path segment that is not percent-encoded UTF-8, or a body that is not JSON */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/actions/{id}/lineage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Delegation tree (parentActionId) containing the action */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the tree from its root */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Lineage"];
                    };
                };
                /** @description malformed request: a path segment that is not percent-encoded UTF-8, or a body that is not JSON */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/controls/pauses": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Active pauses (every pause with all=true) (operator) */
        get: {
            parameters: {
                query?: {
                    all?: "true" | "false";
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the pauses, oldest first (all=true: newest first) */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PauseList"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role operator */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        /** Pause an agent, an action name, both (AND), or everything ("all") (operator) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreatePause"];
                };
            };
            responses: {
                /** @description paused: within a second new proposals it covers end denied, decisions on its pending actions answer 409 paused, approved ones wait */
                201: {
                    headers: {
                        /** @description URL of the resource */
                        Location: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Pause"];
                    };
                };
                /** @description malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8 */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role operator */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is not JSON (application/json or application/*+json), or its charset is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: an unknown scope field, an empty scope (send "all" to pause everything), a missing reason */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/controls/pauses/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Lift a pause: what it held goes on (operator) */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": components["schemas"]["LiftPause"];
                };
            };
            responses: {
                /** @description the lifted pause */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Pause"];
                    };
                };
                /** @description malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8 */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role operator */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description not found, or not visible to the caller */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is not JSON (application/json or application/*+json), or its charset is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/reports/reviewers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Reviewer metrics (approval fatigue) over a period, default the last 30 days (operator) */
        get: {
            parameters: {
                query?: {
                    since?: string;
                    until?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description per reviewer: decisions, rates, time to decide, fast decisions, disagreements */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ReviewerReport"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role operator */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description since or until is not an ISO-8601 date-time, or since is after until */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ledger/verify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Verify every chain and checkpoint; list actions stopped by a write Postgres refused for good (operator) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the verification */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["LedgerVerification"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role operator */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/codec/decode": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Decrypt Temporal payloads for the Temporal UI or CLI (operator or admin; CORS for the Temporal UI origin) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CodecRequest"];
                };
            };
            responses: {
                /** @description the payloads, in order; a payload the codec cannot convert comes back as it was sent */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["CodecAnswer"];
                    };
                };
                /** @description malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8 */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role operator or admin */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than 4 × COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is not JSON (application/json or application/*+json), or its charset is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/codec/encode": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Encrypt Temporal payloads, as Countersign writes them to Temporal (operator or admin; CORS for the Temporal UI origin) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CodecRequest"];
                };
            };
            responses: {
                /** @description the payloads, in order; a payload the codec cannot convert comes back as it was sent */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["CodecAnswer"];
                    };
                };
                /** @description malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8 */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description missing or invalid token */
                401: {
                    headers: {
                        "WWW-Authenticate": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the caller does not hold the role operator or admin */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is larger than 4 × COUNTERSIGN_MAX_BODY_BYTES */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description the body is not JSON (application/json or application/*+json), or its charset is not supported */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds */
                429: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description internal error (logged) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Postgres or Temporal is unavailable; retry after the given seconds */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description alive */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Health"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Temporal and Postgres reachable, and not draining */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description ready */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Readiness"];
                    };
                };
                /** @description not ready */
                503: {
                    headers: {
                        "Retry-After": string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics (here unless COUNTERSIGN_METRICS_PORT gives them their own port) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description text exposition format */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/plain": string;
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description OpenAPI 3.1 */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": Record<string, never>;
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        ProposeAction: {
            action: string;
            params: {
                [key: string]: unknown;
            };
            resource?: string | {
                [key: string]: unknown;
            };
            justification?: string;
            onBehalfOf?: string;
            parentActionId?: string;
            context?: {
                [key: string]: unknown;
            };
            model?: {
                provider?: string;
                name?: string;
                output?: string;
                promptDigest?: string;
                traceId?: string;
            };
            idempotencyKey?: string;
        };
        Decision: {
            /** @enum {string} */
            decision: "approve" | "deny";
            reason?: string;
            params?: {
                [key: string]: unknown;
            };
            expectedDigest?: string;
        };
        Cancel: {
            reason?: string;
        };
        Result: {
            ok: boolean;
            output?: unknown;
            error?: string;
        };
        CreatePrincipal: {
            id: string;
            /** @enum {string} */
            kind: "agent" | "human";
            roles: ("agent" | "reviewer" | "operator" | "admin")[];
            /** @default [] */
            groups: string[];
            /**
             * @description facts for policy; at most 4096 bytes as JSON, 4 levels deep
             * @default {}
             */
            attributes: {
                [key: string]: unknown;
            };
            /** @default [] */
            delegates: string[];
            email?: string;
            oidcSubject?: string;
            slackUserId?: string;
        };
        UpdatePrincipal: {
            roles?: ("agent" | "reviewer" | "operator" | "admin")[];
            groups?: string[];
            /** @description facts for policy; at most 4096 bytes as JSON, 4 levels deep */
            attributes?: {
                [key: string]: unknown;
            };
            delegates?: string[];
            disabled?: boolean;
            email?: string | null;
            oidcSubject?: string | null;
            slackUserId?: string | null;
        };
        CreateToken: {
            expiresIn?: string;
        };
        Evaluate: {
            action: string;
            params: {
                [key: string]: unknown;
            };
            resource?: string | {
                [key: string]: unknown;
            };
            context?: {
                [key: string]: unknown;
            };
            agent?: string;
            onBehalfOf?: string;
            bundle?: string;
        };
        CodecRequest: {
            payloads: {
                metadata?: {
                    [key: string]: string;
                } | null;
                data?: string | null;
            }[];
        };
        EditPreviewRequest: {
            params: {
                [key: string]: unknown;
            };
        };
        CreatePause: {
            scope: "all" | {
                agent?: string;
                action?: string;
            };
            reason: string;
        };
        LiftPause: {
            reason?: string;
        };
        Problem: {
            type: string;
            title: string;
            status: number;
            detail?: string;
            instance?: string;
            errors?: {
                path: string;
                message: string;
                line?: number;
                column?: number;
                hint?: string;
            }[];
        };
        ActionView: {
            id: string;
            /** @enum {string} */
            status: "evaluating" | "awaiting_approval" | "approved" | "executing" | "succeeded" | "failed" | "denied" | "expired" | "cancelled";
            action: string;
            params: {
                [key: string]: unknown;
            };
            resource: unknown | null;
            agent: string;
            onBehalfOf: string | null;
            parentActionId: string | null;
            justification: string | null;
            createdAt: string;
            updatedAt: string;
            policy: {
                /** @enum {string} */
                decision: "allow" | "deny" | "require_approval";
                ruleIds: string[];
                reasons: string[];
                version: string;
            } | null;
            approval?: {
                step: number;
                steps: number;
                group: string;
                quorum: number;
                approvals: {
                    reviewer: string;
                    /** @enum {string} */
                    decision: "approve" | "deny";
                    reason: string | null;
                    at: string;
                    step: number;
                    requestId?: string;
                    digest?: string;
                    counts?: number[];
                    edits?: {
                        [key: string]: {
                            from: unknown;
                            to: unknown;
                        };
                    };
                    identity?: {
                        /** @enum {string} */
                        method: "oidc" | "sign-in-link" | "token" | "slack";
                        issuer?: string;
                        subject?: string;
                    };
                    /** @enum {string} */
                    via?: "api" | "console" | "slack";
                }[];
                deadline: string | null;
                escalations: {
                    group: string;
                    at: string;
                    step: number;
                }[];
                eligibleGroups: string[];
                also?: {
                    group: string;
                    quorum: number;
                }[];
                digest?: string;
            };
            outcome?: {
                /** @enum {string} */
                by: "policy" | "reviewer" | "timeout" | "agent" | "operator" | "control";
                actor: string | null;
                reason: string | null;
            };
            paused?: boolean;
            result?: unknown;
            error?: string;
            links: {
                self: string;
                evidence: string;
                temporalUi: string;
            };
        };
        ActionPage: {
            items: components["schemas"]["ActionView"][];
            nextCursor: string | null;
        };
        Principal: {
            id: string;
            /** @enum {string} */
            kind: "agent" | "human";
            roles: ("agent" | "reviewer" | "operator" | "admin")[];
            groups: string[];
            attributes: {
                [key: string]: unknown;
            };
            delegates: string[];
            disabled: boolean;
            email: string | null;
            oidcSubject: string | null;
            slackUserId: string | null;
        };
        PrincipalCreated: {
            id: string;
            token: string;
        };
        PrincipalList: {
            items: components["schemas"]["Principal"][];
        };
        TokenCreated: {
            tokenId: string;
            token: string;
            expiresAt: string | null;
        };
        TokenList: {
            items: {
                tokenId: string;
                createdAt: string;
                createdBy: string | null;
                expiresAt: string | null;
                revokedAt: string | null;
                revokedBy: string | null;
            }[];
        };
        SignInLink: {
            url: string;
            expiresAt: string;
        };
        Session: {
            principal: {
                id: string;
                name: string;
                /** @enum {string} */
                kind: "agent" | "human";
                roles: ("agent" | "reviewer" | "operator" | "admin")[];
                groups: string[];
            };
            expiresAt: string | null;
        };
        ActivePolicy: {
            version: string;
            loadedAt: string;
            source: string;
            activatedBy: string;
        };
        PolicyVersions: {
            items: {
                version: string;
                author: string;
                createdAt: string;
                sourceName: string | null;
                activations: string[];
            }[];
        };
        BacktestReport: {
            candidateVersion: string;
            actions: number;
            changed: number;
            unchanged: number;
            changes: {
                from: ("allow" | "deny" | "require_approval") | "unknown";
                to: ("allow" | "deny" | "require_approval") | "not-in-catalog";
                ruleIds: string[];
                count: number;
                examples: string[];
            }[];
        };
        PolicyDecision: {
            /** @enum {string} */
            decision: "allow" | "deny" | "require_approval";
            ruleIds: string[];
            reasons: string[];
            decidedBy: string[];
            reason: string;
            version: string;
            plan?: {
                steps: {
                    group: string;
                    quorum: number;
                    timeoutMs: number;
                    remindEveryMs?: number;
                    escalateTo: {
                        group: string;
                        timeoutMs: number;
                    }[];
                }[];
                /** @enum {string} */
                onTimeout: "deny" | "allow";
            };
            executor: {
                /** @constant */
                type: "http";
                url: string;
            } | {
                /** @constant */
                type: "agent";
                resultTimeoutMs?: number;
            };
            /** @enum {string} */
            category: "financial" | "external_communication" | "account_change" | "data_access" | "production_change";
            owner: string;
            errors: {
                ruleId: string;
                message: string;
            }[];
            facts?: {
                agent: {
                    attributes: {
                        [key: string]: unknown;
                    };
                };
                onBehalfOf: {
                    attributes: {
                        [key: string]: unknown;
                    };
                } | null;
            };
            limitBreach?: {
                path: string;
                limit: string;
                message: string;
            };
            usage?: {
                [key: string]: number;
            };
        };
        LineageNode: {
            id: string;
            action: string;
            status: string;
            agent: string;
            onBehalfOf: string | null;
            createdAt: string;
            children: components["schemas"]["LineageNode"][];
        };
        Lineage: {
            root: components["schemas"]["LineageNode"];
            actionId: string;
        };
        LedgerVerification: {
            ok: boolean;
            events: number;
            chains: number;
            checkpoints: number;
            firstBadSeq?: number;
            actionId?: string;
            checkpointSeq?: number;
            reason?: string;
            faults: {
                actionId: string;
                seq: number;
                type: string;
                events: string[];
                code: string | null;
                message: string;
                workflowId: string | null;
                runId: string | null;
                at: string;
            }[];
        };
        EvidenceBundle: {
            actionId: string;
            workflowId: string;
            runId: string | null;
            policyVersion: string;
            events: {
                seq: number;
                type: string;
                at: string;
                actor: {
                    id: string;
                    kind: string;
                };
                data: unknown;
                prevHash: string;
                hash: string;
            }[];
            head: {
                seq: number;
                hash: string;
            };
            checkpoint?: {
                seq: number;
                at: string;
                headCount: number;
                headsRoot: string;
                throughGlobalSeq: number;
                horizon: string;
                prevHash: string;
                hash: string;
                keyId: string;
                signature: string;
                cover: {
                    actionId: string;
                    seq: number;
                    hash: string;
                };
                index: number;
                proof: string[];
            };
            signature: {
                alg: string;
                keyId: string;
                value: string;
            };
            publicKey: string;
            links?: {
                temporalUi?: string;
            };
        };
        Health: {
            /** @constant */
            ok: true;
        };
        Readiness: {
            /** @constant */
            ok: true;
            /** @constant */
            postgres: "ok";
            /** @constant */
            temporal: "ok";
        };
        CodecAnswer: {
            payloads: {
                metadata?: {
                    [key: string]: string;
                } | null;
                data?: string | null;
            }[];
        };
        ActionReview: {
            action: components["schemas"]["ActionView"];
            model: {
                provider?: string;
                name?: string;
                traceId?: string;
            } | null;
            paramsSchema: {
                [key: string]: unknown;
            } | null;
            sensitive: string[];
            plan: {
                steps: {
                    group: string;
                    quorum: number;
                    timeoutMs: number;
                    escalateTo: {
                        group: string;
                        timeoutMs: number;
                    }[];
                    also?: {
                        group: string;
                        quorum: number;
                    }[];
                }[];
                /** @enum {string} */
                onTimeout: "deny" | "allow";
            } | null;
            timeline: {
                seq: number;
                type: string;
                at: string;
                actor: {
                    id: string;
                    kind: string;
                };
                summary: string;
            }[];
            mayDecide: {
                approve: boolean;
                deny: boolean;
                why: string | null;
            };
        };
        EditPreview: {
            /** @enum {string} */
            decision: "allow" | "deny" | "require_approval";
            ruleIds: string[];
            reasons: string[];
            reason: string;
            plan: {
                steps: {
                    group: string;
                    quorum: number;
                    timeoutMs: number;
                    escalateTo: {
                        group: string;
                        timeoutMs: number;
                    }[];
                    also?: {
                        group: string;
                        quorum: number;
                    }[];
                }[];
                /** @enum {string} */
                onTimeout: "deny" | "allow";
            } | null;
        };
        PolicySource: {
            version: string;
            source: string;
            sourceName: string | null;
        };
        Pause: {
            id: string;
            scope: "all" | {
                agent?: string;
                action?: string;
            };
            reason: string;
            by: string;
            at: string;
            liftedAt?: string;
            liftedBy?: string;
        };
        PauseList: {
            items: components["schemas"]["Pause"][];
        };
        ReviewerReport: {
            since: string;
            until: string;
            fastDecisionMs: number;
            reviewers: {
                reviewer: string;
                decisions: number;
                approvals: number;
                denials: number;
                edits: number;
                approveRate: number;
                denyRate: number;
                editRate: number;
                medianTimeToDecideMs: number | null;
                p90TimeToDecideMs: number | null;
                fastDecisions: number;
                disagreements: number;
                sharedDecisions: number;
                disagreementRate: number | null;
            }[];
        };
        PrincipalGrantProposed: {
            id: string;
            token: string;
            action: components["schemas"]["ActionView"];
        };
        InboxUpsert: {
            action: components["schemas"]["ActionView"];
        };
        InboxRemove: {
            id: string;
            status: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
