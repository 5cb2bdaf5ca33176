import { useEffect, useState, type FormEvent } from "react";
import { ApiError, getJson, send, type AuthConfig, type OidcInfo, type Schemas, type Session } from "../api";
import { beginOidc, finishOidc } from "../oidc";

export function Login({ onIn }: { onIn: () => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [oidc, setOidc] = useState<OidcInfo | null>(null);

  useEffect(() => {
    getJson<AuthConfig>("/api/v1/auth/config")
      .then((c) => setOidc(c.oidc ?? null))
      .catch(() => setOidc(null));
    // Coming back from the identity provider with ?code=…&state=…
    finishOidc()
      .then((done) => {
        if (done) {
          window.history.replaceState(null, "", "/");
          onIn();
        }
      })
      .catch((e) => setError(String(e.message ?? e)));
  }, [onIn]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await send<Session>("POST", "/api/v1/auth/login", { username, password } satisfies Schemas["Login"]);
      if (window.location.pathname === "/login") window.history.replaceState(null, "", "/");
      onIn();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "The server cannot be reached.");
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <h1>254Carbon</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          User
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
      {oidc && (
        <button className="secondary" onClick={() => beginOidc(oidc).catch((e) => setError(String(e.message ?? e)))}>
          Sign in with {new URL(oidc.issuer).host}
        </button>
      )}
    </main>
  );
}
