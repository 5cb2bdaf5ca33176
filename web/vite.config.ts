import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build lands in web/dist, which carbon-api embeds into the binary.
// `npm run dev` proxies the API to a local `carbon serve`.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1024 },
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8080", ws: true },
      "/.well-known": "http://127.0.0.1:8080",
    },
  },
  test: { include: ["test/**/*.test.ts"], environment: "node" },
});
