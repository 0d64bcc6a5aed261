import { defineConfig, type ViteUserConfig } from "vitest/config";

const config: ViteUserConfig = defineConfig({
  resolve: { conditions: ["larder-source"] },
  test: {
    include: ["test/**/*.test.ts"],
    // Runtime suites have their own steps (deno, bun, node and workerd: test/runtime/vitest.config.ts).
    exclude: ["test/runtime/**", "**/node_modules/**"],
    // The integration suites share one redis-server and one S3 server; isolation comes from
    // a fresh random prefix per test, not from separate processes.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

export default config;
