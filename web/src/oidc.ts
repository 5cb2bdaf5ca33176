// Authorization code + PKCE against the configured OIDC provider. The hub is
// a public client: it keeps the verifier in sessionStorage for the round
// trip, and hands the provider's access token to the API once, which answers
// with the hub's own session cookie.

import type { OidcInfo } from "./api";

/** The provider and the hub's client at it (an `OidcInfo` with its client id). */
type Client = OidcInfo & { client_id: string };

function b64url(bytes: Uint8Array): string {
  let s = "";
  bytes.forEach((b) => (s += String.fromCharCode(b)));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function discovery(issuer: string) {
  const r = await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!r.ok) throw new Error(`OIDC discovery failed: HTTP ${r.status}`);
  return (await r.json()) as { authorization_endpoint: string; token_endpoint: string };
}

export async function beginOidc(oidc: OidcInfo) {
  if (!oidc.client_id) throw new Error("OIDC sign-in is not set up for the hub (the server has no client id for it)");
  const info: Client = { issuer: oidc.issuer, client_id: oidc.client_id };
  const d = await discovery(info.issuer);
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  sessionStorage.setItem("carbon_oidc", JSON.stringify({ verifier, state, info }));
  const url = new URL(d.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: info.client_id,
    redirect_uri: `${window.location.origin}/login`,
    scope: "openid profile",
    code_challenge: challenge,
    code_challenge_method: "S256",
    state,
  }).toString();
  window.location.assign(url.toString());
}

/** On the way back: exchanges the code; true when a session was made. */
export async function finishOidc(): Promise<boolean> {
  const q = new URLSearchParams(window.location.search);
  const code = q.get("code");
  const saved = sessionStorage.getItem("carbon_oidc");
  if (!code || !saved) return false;
  sessionStorage.removeItem("carbon_oidc");
  const { verifier, state, info } = JSON.parse(saved) as { verifier: string; state: string; info: Client };
  if (q.get("state") !== state) throw new Error("OIDC state does not match; sign in again");
  const d = await discovery(info.issuer);
  const r = await fetch(d.token_endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: `${window.location.origin}/login`,
      client_id: info.client_id,
      code_verifier: verifier,
    }),
  });
  if (!r.ok) throw new Error(`OIDC token exchange failed: HTTP ${r.status}`);
  const tokens = (await r.json()) as { access_token: string };
  const s = await fetch("/api/v1/auth/oidc/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  if (!s.ok) throw new Error(`the server refused the OIDC sign-in: HTTP ${s.status}`);
  return true;
}
