import { useCallback, useEffect, useState, type FormEvent } from "react";
import { getJson, send, type CreatedKey, type Key, type NewKey, type Rotate, type RotatedKey, type Schemas } from "../api";

const when = (t?: string | null) => (t ? t.slice(0, 16).replace("T", " ") : "");
const expired = (k: Key) => k.expires != null && new Date(k.expires).getTime() <= Date.now();

/** The caller's own API keys (channel `api`/`stream` for programs): list
 * with expiry and last use, create (optionally expiring; the key is shown
 * once), rotate (the successor is shown once, the old key keeps working for
 * seven days), revoke. Tenants without those channels are refused by the
 * API, and the page says why. */
export function Keys() {
  const [keys, setKeys] = useState<Key[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [shown, setShown] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [expiresIn, setExpiresIn] = useState("");

  const load = useCallback(() => {
    getJson<Schemas["Data_Key"]>("/api/v1/keys").then(
      (r) => setKeys(r.data),
      (e) => {
        setKeys([]);
        setError(e.message);
      },
    );
  }, []);
  useEffect(load, [load]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const body: NewKey = expiresIn ? { name, expires_in: expiresIn } : { name };
      const k = await send<CreatedKey>("POST", "/api/v1/keys", body);
      setShown(k.key);
      setName("");
      load();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const rotate = async (id: string) => {
    setError(null);
    try {
      const k = await send<RotatedKey>("POST", `/api/v1/keys/${id}/rotate`, { grace: "7d" } satisfies Rotate);
      setShown(k.key);
      load();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const revoke = async (id: string) => {
    setError(null);
    try {
      await send("DELETE", `/api/v1/keys/${id}`);
      load();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return (
    <section aria-label="API keys">
      <h1>My API keys</h1>
      <p>For programs: send a key as <code>X-API-Key</code> (REST) or on the WebSocket stream.</p>
      {error && <p role="alert" className="error">{error}</p>}
      {shown && (
        <p role="status" className="shown" data-testid="new-key">
          New key (shown once, copy it now): <code>{shown}</code> <button onClick={() => setShown(null)}>Done</button>
        </p>
      )}
      <form className="inline" onSubmit={create} aria-label="Create a key">
        <label>Name <input value={name} onChange={(e) => setName(e.target.value)} required placeholder="nightly-etl" /></label>
        <label>Expires{" "}
          <select value={expiresIn} onChange={(e) => setExpiresIn(e.target.value)}>
            <option value="">never</option>
            <option value="30d">in 30 days</option>
            <option value="90d">in 90 days</option>
            <option value="365d">in a year</option>
          </select>
        </label>
        <button type="submit">Create key</button>
      </form>
      {keys === null ? <p className="loading">Loading…</p> : keys.length === 0 ? <p className="empty">No keys.</p> : (
        <table>
          <thead><tr><th>Id</th><th>Name</th><th>Created</th><th>Expires</th><th>Last used</th><th /></tr></thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id} className={k.revoked || expired(k) ? "dropped" : ""}>
                <td><code>{k.id}</code></td><td>{k.name}</td><td>{when(k.created)}</td>
                <td>{k.expires ? when(k.expires) : "never"}</td><td>{when(k.last_used) || "never"}</td>
                <td>
                  {k.revoked ? "revoked" : expired(k) ? "expired" : (
                    <>
                      <button onClick={() => rotate(k.id)} aria-label={`Rotate ${k.id}`}>Rotate</button>{" "}
                      <button onClick={() => revoke(k.id)} aria-label={`Revoke ${k.id}`}>Revoke</button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
