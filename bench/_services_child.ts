/**
 * Runs the local services (`startServices()`: redis-server, the Upstash bridge, S3 behind its
 * counting proxy) in a process of their own, so their CPU work never shares the measured
 * process' event loop. Started by `_services.ts` over IPC: it sends `{ env, redisPids }` once
 * up, and stops everything on a `"stop"` message, on a signal, or when its parent goes away.
 *
 * @module
 */
import process from "node:process";
import { startServices } from "../scripts/services/index.ts";

// The cluster too: bench/tcp.ts measures the TCP store on one node and on a Redis Cluster.
const services = await startServices({ cluster: true });
let stopping: Promise<void> | undefined;

function stop(): Promise<void> {
  stopping ??= services.stop()
    .catch((error: unknown) => console.error(`[bench services] stopping: ${String(error)}`))
    .finally(() => process.exit(0));
  return stopping;
}

process.on("message", (message) => {
  if (message === "stop") void stop();
});
// The parent died or closed the channel (even SIGKILL closes it): never outlive it.
process.on("disconnect", () => void stop());
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop());

process.send?.({
  env: services.env,
  redisPids: [services.redis.pid, ...services.cluster?.nodes.map((node) => node.pid) ?? []],
});
