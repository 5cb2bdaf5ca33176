import { StrictMode, useCallback, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { getJson, send, type Me } from "./api";
import { Login } from "./pages/Login";
import { Dashboard } from "./pages/Dashboard";
import { Explorer } from "./pages/Explorer";
import { Curves } from "./pages/Curves";
import { Admin } from "./pages/Admin";
import { Keys } from "./pages/Keys";
import { Research } from "./pages/Research";
import { Jobs } from "./pages/Jobs";
import { Scenarios } from "./pages/Scenarios";
import { Downloads } from "./pages/Downloads";
import { Reports } from "./pages/Reports";
import "./styles.css";

/** Client-side routes; the server answers index.html for each of them. */
const ROUTES = [
  { path: "/", label: "Dashboard" },
  { path: "/explorer", label: "Explorer" },
  { path: "/downloads", label: "Downloads" },
  { path: "/reports", label: "Reports" },
  { path: "/curves", label: "Curves" },
  { path: "/research", label: "Research" },
  { path: "/scenarios", label: "Scenarios" },
  { path: "/jobs", label: "Jobs" },
  { path: "/keys", label: "API keys" },
  { path: "/admin", label: "Admin", admin: true },
] as const;

export function navigate(path: string) {
  window.history.pushState(null, "", path);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

function usePath(): string {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const on = () => setPath(window.location.pathname);
    window.addEventListener("popstate", on);
    return () => window.removeEventListener("popstate", on);
  }, []);
  return path;
}

function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const refresh = useCallback(() => {
    getJson<Me>("/api/v1/auth/me")
      .then(setMe)
      .catch(() => setMe(null));
  }, []);
  useEffect(refresh, [refresh]);

  if (me === undefined) return <p className="loading">Loading…</p>;
  if (me === null || path === "/login") return <Login onIn={refresh} />;

  const logout = async () => {
    await send("POST", "/api/v1/auth/logout").catch(() => undefined);
    setMe(null);
    navigate("/login");
  };
  let page;
  switch (path) {
    case "/explorer":
      page = <Explorer navigate={navigate} />;
      break;
    case "/downloads":
      page = <Downloads />;
      break;
    case "/reports":
      page = <Reports />;
      break;
    case "/curves":
      page = <Curves />;
      break;
    case "/keys":
      page = <Keys />;
      break;
    case "/research":
      page = <Research />;
      break;
    case "/scenarios":
      page = <Scenarios />;
      break;
    case "/jobs":
      page = <Jobs />;
      break;
    case "/admin":
      page = me.admin ? <Admin /> : <p role="alert">Admins only.</p>;
      break;
    default:
      page = <Dashboard />;
  }
  return (
    <>
      <header>
        <strong>254Carbon</strong>
        <nav aria-label="Main">
          {ROUTES.filter((r) => !("admin" in r) || me.admin).map((r) => (
            <a
              key={r.path}
              href={r.path}
              aria-current={path === r.path ? "page" : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate(r.path);
              }}
            >
              {r.label}
            </a>
          ))}
        </nav>
        <span className="who" data-testid="who">
          {me.subject} · {me.tenant}
        </span>
        <button onClick={logout}>Sign out</button>
      </header>
      <main>{page}</main>
    </>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
