import { defineConfig, type ViteUserConfig } from "vitest/config";

// The Node runtime suite and the workerd driver: run by their own `npm test` steps, not by the
// main vitest step (whose config excludes test/runtime/).
const config: ViteUserConfig = defineConfig({
  resolve: { conditions: ["larder-source"] },
  test: {
    include: ["test/runtime/node/**/*.test.ts", "test/runtime/workerd/**/*.test.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});

export default config;
