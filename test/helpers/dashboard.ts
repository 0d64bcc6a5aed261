/**
 * Driving a dashboard the way a browser does, without one: the operator's credentials, the page
 * (with its session cookie and form token), and form or JSON posts with a browser's headers.
 */
import type { Dashboard, DashboardModel } from "../../src/dashboard/dashboard.ts";

/** The origin the test requests pretend to come from. */
export const ORIGIN = "https://ops.example";
/** The operator's credentials, as `authorize` in these tests expects them. */
export const OPERATOR = { authorization: "Bearer operator-secret" } as const;

/** `authorize` for the tests: the operator's bearer token, nothing else. */
export const authorize = (request: Request): boolean => request.headers.get("authorization") === OPERATOR.authorization;

/** A GET of the dashboard at `path` (default `/_larder`). */
export async function get(board: Dashboard, path = "/_larder", headers: HeadersInit = OPERATOR): Promise<Response> {
  return await board.fetch(new Request(`${ORIGIN}${path}`, { headers }));
}

/** The page and the JSON model, as an operator sees them. */
export async function model(board: Dashboard): Promise<DashboardModel> {
  const response = await get(board, "/_larder?format=json");
  if (response.status !== 200) throw new Error(`GET ?format=json: ${response.status}`);
  return await response.json() as DashboardModel;
}

/** A browser session: its cookie and the form token of the page it loaded. */
export interface Session {
  readonly cookie: string;
  readonly token: string;
  readonly html: string;
}

/** Loads the page as an operator, keeping the cookie it sets and the token in its forms. */
export async function session(board: Dashboard): Promise<Session> {
  const response = await get(board);
  const html = await response.text();
  const cookie = response.headers.get("set-cookie")?.split(";")[0];
  const token = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (response.status !== 200 || !cookie || !token) throw new Error(`no session from the page (${response.status})`);
  return { cookie, token, html };
}

/** A form post from the page itself (same origin, its cookie, its token) unless `headers`/`token` say otherwise. */
export async function post(
  board: Dashboard,
  s: Session,
  fields: Record<string, string>,
  options: { headers?: Record<string, string>; token?: string | null; json?: boolean } = {},
): Promise<Response> {
  const token = options.token === undefined ? s.token : options.token;
  const body = new URLSearchParams({ ...fields, ...(token === null ? {} : { csrf: token }) });
  return await board.fetch(
    new Request(`${ORIGIN}/_larder`, {
      method: "POST",
      headers: {
        ...OPERATOR,
        cookie: s.cookie,
        origin: ORIGIN,
        "sec-fetch-site": "same-origin",
        "content-type": "application/x-www-form-urlencoded",
        ...(options.json ? { accept: "application/json" } : {}),
        ...options.headers,
      },
      body,
    }),
  );
}

/** The text of the element showing figure `path` (`data-f`) in `html`, or undefined. */
export function figure(html: string, path: string): string | undefined {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`data-f="${escaped}"[^>]*>([^<]*)<`).exec(html)?.[1];
}
