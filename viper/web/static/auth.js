// The session: who is signed in (GET /auth/me), the sign-in form (POST /auth/login with a token),
// and sign-out. When the server has no authentication, the dashboard works without signing in.
import { get, post, setCsrfToken } from "./api.js";
import { $ } from "./dom.js";

export const session = { mode: "unknown", name: "", scopes: [] };
const SCOPE_RANK = { read: 1, trade: 2, admin: 3 };

function apply(me) {
  session.name = me?.name || "";
  session.scopes = Array.isArray(me?.scopes) ? me.scopes : [];
  setCsrfToken(me?.csrf_token);
}

/** "signed-in", "signed-out" (the server wants a session) or "open" (no authentication here). */
export async function checkSession() {
  try {
    const me = await get("/auth/me");
    apply(me);
    // with authentication switched off the server answers as an "open" admin principal
    session.mode = me?.via === "open" ? "open" : "signed-in";
  } catch (error) {
    if (error.status === 401) session.mode = "signed-out";
    else if (error.unavailable) session.mode = "open";
    else throw error;
  }
  showUser();
  return session.mode;
}

/** Whether the session may do what needs `scope` (always, without authentication). */
export function allows(scope) {
  if (session.mode !== "signed-in") return session.mode === "open";
  const best = Math.max(0, ...session.scopes.map((s) => SCOPE_RANK[s] || 0));
  return best >= (SCOPE_RANK[scope] || 99);
}

function showUser() {
  $("user").hidden = session.mode !== "signed-in";
  $("user-name").textContent = session.name;
}

/** Shows the sign-in form; resolves once a token was accepted. */
export function signIn() {
  const section = $("sign-in");
  const form = $("sign-in-form");
  const error = $("sign-in-error");
  section.hidden = false;
  $("app").hidden = true;
  error.hidden = true;
  $("token").focus();
  const cancel = $("sign-in-cancel");
  // only with a session (or without authentication) is there a dashboard to go back to
  cancel.hidden = !(session.mode === "open" || session.mode === "signed-in");
  return new Promise((resolve) => {
    cancel.onclick = () => {
      section.hidden = true;
      $("app").hidden = false;
      resolve(session);
    };
    form.onsubmit = async (event) => {
      event.preventDefault();
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        apply(await post("/auth/login", { token: $("token").value.trim() }));
        session.mode = "signed-in";
        $("token").value = "";
        section.hidden = true;
        $("app").hidden = false;
        showUser();
        resolve(session);
      } catch (exc) {
        error.textContent = exc.status === 404
          ? `Sign-in is not available on this server (${exc.detail})`
          : `Sign-in failed: ${exc.detail}`;
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    };
  });
}

export async function signOut() {
  try {
    await post("/auth/logout");
  } finally {
    apply(null);
    session.mode = "signed-out";
    showUser();
  }
}
