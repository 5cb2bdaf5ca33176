import { useCallback, useEffect, useState, type FormEvent } from "react";
import { getJson, send, type CreatedKey, type Grant, type GrantSpec, type Key, type NewKey, type NewTenant, type NewUser, type Schemas, type Tenant, type User, type UserPatch } from "../api";

/** Tenants, users, API keys (a created key is shown once) and entitlements. */
export function Admin() {
  const [tenants, setTenants] = useState<Tenant[] | null>(null);
  const [users, setUsers] = useState<User[]>([]);
  const [keys, setKeys] = useState<Key[]>([]);
  const [grants, setGrants] = useState<Grant[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [shown, setShown] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const [t, u, k, g] = await Promise.all([
        getJson<Schemas["Data_Tenant"]>("/api/v1/admin/tenants"),
        getJson<Schemas["Data_User"]>("/api/v1/admin/users"),
        getJson<Schemas["Data_Key"]>("/api/v1/admin/keys"),
        getJson<Schemas["Data_Grant"]>("/api/v1/admin/entitlements"),
      ]);
      setTenants(t.data);
      setUsers(u.data);
      setKeys(k.data);
      setGrants(g.data);
    } catch (e) {
      setError((e as Error).message);
    }
  }, []);
  useEffect(() => {
    load();
  }, [load]);

  const act = (f: () => Promise<unknown>) => async (e?: FormEvent) => {
    e?.preventDefault();
    setError(null);
    try {
      await f();
      await load();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const field = (e: FormEvent, name: string) => ((e.target as HTMLFormElement).elements.namedItem(name) as HTMLInputElement).value;

  if (error && tenants === null) return <p role="alert" className="error">{error}</p>;
  if (tenants === null) return <p className="loading">Loading…</p>;
  return (
    <section aria-label="Admin" className="admin">
      <h1>Administration</h1>
      {error && <p role="alert" className="error">{error}</p>}
      {shown && (
        <p role="status" className="shown" data-testid="new-key">
          New key (shown once, copy it now): <code>{shown}</code> <button onClick={() => setShown(null)}>Done</button>
        </p>
      )}
      <h2>Tenants</h2>
      <table><tbody>{tenants.map((t) => <tr key={t.id}><td>{t.id}</td><td>{t.name}</td></tr>)}</tbody></table>
      <form className="inline" onSubmit={(e) => act(() => send<Tenant>("POST", "/api/v1/admin/tenants", { id: field(e, "id"), name: field(e, "name") } satisfies NewTenant))(e)}>
        <input name="id" placeholder="tenant id" required /> <input name="name" placeholder="name" /> <button>Add tenant</button>
      </form>
      <h2>Users</h2>
      <table>
        <thead><tr><th>User</th><th>Tenant</th><th>Roles</th><th>State</th><th /></tr></thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.username}>
              <td>{u.username}</td><td>{u.tenant}</td><td>{u.roles.join(", ")}</td><td>{u.disabled ? "disabled" : "active"}</td>
              <td><button onClick={act(() => send("PATCH", `/api/v1/admin/users/${encodeURIComponent(u.username)}`, { disabled: !u.disabled } satisfies UserPatch))}>{u.disabled ? "Enable" : "Disable"}</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="inline" onSubmit={(e) => act(() => send<User>("POST", "/api/v1/admin/users", { username: field(e, "username"), tenant: field(e, "tenant"), password: field(e, "password"), roles: field(e, "roles").split(",").map((r) => r.trim()).filter(Boolean) } satisfies NewUser))(e)}>
        <input name="username" placeholder="username" required /> <input name="tenant" placeholder="tenant" required />
        <input name="password" type="password" placeholder="password (12+ characters)" required /> <input name="roles" placeholder="roles (admin, …)" />
        <button>Add user</button>
      </form>
      <h2>API keys</h2>
      <table>
        <thead><tr><th>Id</th><th>Tenant</th><th>Name</th><th>Owner</th><th>Created</th><th /></tr></thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.id} className={k.revoked ? "dropped" : ""}>
              <td><code>{k.id}</code></td><td>{k.tenant}</td><td>{k.name}</td><td>{k.owner ?? ""}</td><td>{k.created.slice(0, 16)}</td>
              <td>{k.revoked ? "revoked" : <button onClick={act(() => send("DELETE", `/api/v1/admin/keys/${k.id}`))}>Revoke</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="inline" onSubmit={(e) => act(async () => {
        const k = await send<CreatedKey>("POST", "/api/v1/admin/keys", { name: field(e, "name"), tenant: field(e, "tenant") } satisfies NewKey);
        setShown(k.key);
      })(e)}>
        <input name="name" placeholder="key name" required /> <input name="tenant" placeholder="tenant" required /> <button>Create key</button>
      </form>
      <h2>Entitlements</h2>
      <table>
        <thead><tr><th>Tenant</th><th>Market</th><th>Product</th><th>Channels</th><th>Instruments</th><th>Dates</th><th /></tr></thead>
        <tbody>
          {grants.map((g) => (
            <tr key={g.id}>
              <td>{g.tenant}</td><td>{g.market}</td><td>{g.product}</td><td>{g.channels.join(", ")}</td><td>{g.instruments?.join(", ") ?? "all"}</td>
              <td>{g.start ?? "…"} – {g.end ?? "…"}</td>
              <td><button onClick={act(() => send("DELETE", `/api/v1/admin/entitlements/${g.id}`))}>Remove</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="inline" onSubmit={(e) => act(() => send<Grant>("POST", "/api/v1/admin/entitlements", {
        tenant: field(e, "tenant"), market: field(e, "market"), product: field(e, "product"),
        channels: field(e, "channels").split(",").map((c) => c.trim()).filter(Boolean),
      } satisfies GrantSpec))(e)}>
        <input name="tenant" placeholder="tenant" required /> <input name="market" placeholder="market or *" required />
        <input name="product" placeholder="product (lmp, curves, *)" required /> <input name="channels" placeholder="channels: hub, api, stream, downloads" required />
        <button>Grant</button>
      </form>
    </section>
  );
}
