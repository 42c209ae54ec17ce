/**
 * Who may call a route:
 * - `api`: `Authorization: Bearer <API_TOKEN>` (1C, scripts);
 * - `operator`: a Bearer token is required here; the route's handler verifies it as an
 *   operator login (and may accept the API token too, as the chat routes do);
 * - `api_or_operator`: a Bearer token is required here; the handler accepts the API token or
 *   an operator login (outbound messages: 1C and the operator panel both send them);
 * - `admin`: HTTP Basic `ADMIN_USER` / `ADMIN_PASSWORD` (the queue dashboard);
 * - `public`: no credential (health, metrics, the API description, webhooks that carry
 *   their own secret). connector-api.md makes the operator login `public` too: the
 *   operator's own credentials authenticate it (and it is throttled) — the login's owner
 *   switches it when that lands.
 */
export type RouteAuth = 'api' | 'operator' | 'api_or_operator' | 'admin' | 'public';
export const ROUTE_AUTH_KINDS: readonly RouteAuth[] = ['api', 'operator', 'api_or_operator', 'admin', 'public'];
