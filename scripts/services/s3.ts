/**
 * Starts `s3rver` (an S3 API server on the local filesystem) on a free loopback port with the
 * `larder-test` bucket, and the counting proxy in front of it. Clients use the proxy's URL.
 *
 * s3rver does not verify SigV4 signatures (a wrong secret gets 200), so the proxy does
 * (s3_auth.ts), for the credentials below and the bucket's region, {@link S3_REGION} (not
 * `us-east-1`, so a client that forgets `region` is refused here as it would be by AWS). Only
 * `directEndpoint` bypasses the check.
 *
 * @module
 */
import { mkdtemp, rm, unlink } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
import { type CountingProxy, startProxy } from "./proxy.ts";

/** The bucket created at start. */
export const S3_BUCKET = "larder-test";
/** The credentials the proxy accepts (s3rver's documented ones; s3rver itself checks only the key id). */
export const S3_CREDENTIALS: { readonly accessKeyId: string; readonly secretAccessKey: string } = {
  accessKeyId: "S3RVER",
  secretAccessKey: "S3RVER",
};
/** The bucket's region: requests must be signed for it. Not S3's default, on purpose. */
export const S3_REGION = "eu-central-1";

/** A running S3 server and its counting proxy. */
export interface S3Server {
  /** The proxy's URL: what clients use (`http://127.0.0.1:PORT`). */
  readonly endpoint: string;
  /** s3rver's own URL, bypassing the proxy (not counted). */
  readonly directEndpoint: string;
  /** The bucket. */
  readonly bucket: string;
  /** The region requests must be signed for. */
  readonly region: string;
  /** The counting proxy (its log and fault rules). */
  readonly proxy: CountingProxy;
  /** Stops the proxy and s3rver and removes the data directory. */
  stop(): Promise<void>;
}

/** Starts s3rver and the proxy. */
export async function startS3(): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), "larder-s3-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: [{ name: S3_BUCKET }],
  });
  keepEmptyDirectories(server);
  let proxy: CountingProxy | undefined;
  try {
    const { port } = (await server.run()) as AddressInfo;
    // Outlive the clients' idle keep-alive sockets (Node's default of 5 s causes reset races).
    if (server.httpServer) server.httpServer.keepAliveTimeout = 30_000;
    proxy = await startProxy({ target: { host: "127.0.0.1", port }, auth: { ...S3_CREDENTIALS, region: S3_REGION } });
    const started = proxy;
    return {
      endpoint: started.url,
      directEndpoint: `http://127.0.0.1:${port}`,
      bucket: S3_BUCKET,
      region: S3_REGION,
      proxy: started,
      async stop() {
        await started.stop();
        await stopS3rver(server);
        await rm(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await proxy?.stop();
    await stopS3rver(server);
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

/**
 * s3rver 3.7 removes emptied key "directories" after a DELETE with an unguarded readdir/rmdir loop:
 * concurrent DELETEs under one prefix, or a PUT or LIST racing with them, fail with a 500. Its
 * listing only looks at object files, so leaving the empty directories behind is harmless.
 */
function keepEmptyDirectories(server: S3rver): void {
  const store = server.store;
  store.deleteObject = async (bucket, key) => {
    await Promise.all(["object", "object.md5", "metadata.json"].map(async (type) => {
      try {
        await unlink(store.getResourcePath(bucket, key, type));
      } catch (error) {
        if ((error as { code?: string }).code !== "ENOENT") throw error;
      }
    }));
  };
}

async function stopS3rver(server: S3rver): Promise<void> {
  if (!server.httpServer?.listening) return;
  const closed = server.close();
  server.httpServer.closeAllConnections();
  await closed;
}
