// JSON over fetch: the session cookie rides along, state-changing calls carry the CSRF token,
// and every failure becomes an ApiError holding the server's `detail`.

export class ApiError extends Error {
  constructor(status, code, detail, method, path) {
    super(`${method} ${path}: ${detail}`);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.method = method;
    this.path = path;
  }

  /** The route is missing, not built yet, or its module is off: show "not available". */
  get unavailable() {
    return this.status === 404 || this.status === 501 || this.status === 503;
  }
}

let csrfToken = null;
const unauthorizedListeners = new Set();

export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** `listener(error)` runs whenever a call answers 401 (no session, or it expired). */
export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
}

export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (exc) {
    throw new ApiError(0, "network", `the server cannot be reached (${exc.message})`, method, path);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const detail = (data && (data.detail || data.error)) || text.slice(0, 200) || response.statusText;
    const error = new ApiError(response.status, data?.error || "http_error", detail, method, path);
    if (response.status === 401) for (const listener of unauthorizedListeners) listener(error);
    throw error;
  }
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body = {}) => request("POST", path, body);

/** `path?key=value&...`, leaving out empty values. */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
