/**
 * The console's Content-Security-Policy: same-origin scripts, styles and API calls, no framing.
 * With Auth0, the console's document may also call Auth0's token endpoint (`@auth0/auth0-spa-js`
 * exchanges the code there): that origin, and only it, is added to `connect-src`. The build writes
 * the policy without Auth0 to `_headers`; the edge serves the console's page with the deployment's.
 */
export function consoleCsp(auth0Origin?: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${auth0Origin ? ` ${auth0Origin}` : ""}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
  ].join("; ");
}

/** Headers every console response carries besides the policy. */
export const CONSOLE_HEADERS = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" } as const;
