/**
 * A blob store reached over HTTP, so that the vitest-bound blob conformance suite can run against
 * an adapter that only exists inside a Worker (`r2BlobStore(env.BUCKET)`: the binding is real
 * only in workerd). Both ends are here, so they cannot drift apart:
 *
 * - {@link serveBlobCalls} runs in the Worker: each request is one call of the Worker's store,
 *   with the call's signal and expected size driven by the test side;
 * - {@link blobStoreProxy} runs in the test: a `BlobStore` whose every call is such a request.
 *
 * Every call of the suite reaches the adapter: `put` gets a view into a larger buffer (so "a
 * view's bytes only" is tested against the binding); a `get`'s `expectedBytes` stays pending in
 * the Worker until the test side's promise settles (a `/blob/settle` request), and an abort on the
 * test side aborts the Worker's signal (a `/blob/abort` request, or `aborted` on a call whose
 * signal had fired before it; a put aborted while its bytes are still on their way reaches the
 * adapter with its signal fired). Those requests only note what happened: the call's own request
 * notices it (a 2 ms timer) and settles or aborts, because workerd cancels, as hung, a request
 * that waits for a promise another request settles. The Worker answers `aborted` only when the
 * adapter rejected with exactly its signal's reason; the test side then rejects with its own
 * reason. Errors come back with their `code`, `name` and `message`.
 *
 * Imports nothing at run time (types only): it runs in Node and in workerd.
 *
 * @module
 */
import type { BlobGetOptions, BlobListOptions, BlobStore } from "../../src/core/types.ts";

/** What one call carries. */
interface CallArgs {
  readonly op: "put" | "get" | "delete" | "list" | "deleteMany";
  readonly id: string;
  readonly key?: string;
  readonly prefix?: string;
  readonly options?: { readonly limit?: unknown; readonly cursor?: unknown };
  readonly keys?: readonly string[];
  /** The call has a signal (and it had fired already when `aborted`). */
  readonly signal: boolean;
  readonly aborted: boolean;
  /** The get has an expected size, to be settled by a `/blob/settle` request. */
  readonly expect: boolean;
}

/** What the test side has said about a call (noted by whichever request of that id comes first). */
interface Notes {
  abort: boolean;
  size?: { readonly bytes: number | undefined };
  /** How the call ended, for the `/blob/abort` request that waits for it. */
  outcome?: string;
}

const OUTCOME = "x-blob-outcome";

/** The Worker's side: answers `/blob/call`, `/blob/settle` and `/blob/abort`; undefined for other paths. */
export function serveBlobCalls(): (request: Request, store: BlobStore) => Promise<Response | undefined> {
  const notes = new Map<string, Notes>();
  const notesOf = (id: string): Notes => {
    let found = notes.get(id);
    if (found === undefined) notes.set(id, found = { abort: false });
    return found;
  };
  const answer = (outcome: string, body: BodyInit | null = null): Response =>
    new Response(body, { headers: { [OUTCOME]: outcome } });
  const json = (outcome: string, value: unknown): Response => answer(outcome, JSON.stringify(value ?? null));

  return serve;

  async function serve(request: Request, store: BlobStore): Promise<Response | undefined> {
    const url = new URL(request.url);
    const id = url.searchParams.get("id") ?? "";
    if (url.pathname === "/blob/settle") {
      const bytes = url.searchParams.get("bytes");
      notesOf(id).size = { bytes: bytes === null || bytes === "" ? undefined : Number(bytes) };
      return json("ok", null);
    }
    if (url.pathname === "/blob/abort") {
      // Answers with the call's outcome once it has one, so that the test side learns it without
      // waiting for the call's own answer (e.g. behind the upload of a large put).
      const noted = notesOf(id);
      noted.abort = true;
      for (let waited = 0; noted.outcome === undefined && waited < 5_000; waited += 2) {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      notes.delete(id);
      return json("ok", noted.outcome ?? "pending");
    }
    if (url.pathname !== "/blob/call") return undefined;
    // A put's arguments travel in a header (its body is the bytes), the others' in the body.
    const header = request.headers.get("x-blob-args");
    const args = (header === null ? await request.json() : JSON.parse(decodeURIComponent(header))) as CallArgs;
    const noted = notesOf(args.id);
    const controller = new AbortController();
    const reason = new Error(`proxy abort ${args.id}`);
    let settle: (bytes: number | undefined) => void = () => {};
    const size = new Promise<number | undefined>((resolve) => (settle = resolve));
    // This request's own timer applies what other requests noted.
    let done = false;
    const watch = (): void => {
      if (done) return;
      if ((noted.abort || args.aborted) && !controller.signal.aborted) controller.abort(reason);
      if (noted.size !== undefined) settle(noted.size.bytes);
      setTimeout(watch, 2);
    };
    watch();
    const signal = args.signal ? { signal: controller.signal } : {};
    const response = await respond(store, request, args, signal, controller, reason, size);
    done = true;
    noted.outcome = response.headers.get(OUTCOME) ?? "error";
    // Kept for a `/blob/abort` that may still come (it removes them): a test Worker's few thousand calls.
    return response;
  }

  async function respond(
    store: BlobStore,
    request: Request,
    args: CallArgs,
    signal: { signal?: AbortSignal },
    controller: AbortController,
    reason: Error,
    size: Promise<number | undefined>,
  ): Promise<Response> {
    try {
      switch (args.op) {
        case "put": {
          // An abort while the bytes are still on their way reaches the adapter as a signal
          // that has already fired (this transport is slower than the adapter).
          const aborted = new Promise<"aborted">((resolve) =>
            controller.signal.addEventListener("abort", () => resolve("aborted"), { once: true })
          );
          const received = await Promise.race([request.arrayBuffer(), aborted]);
          const bytes = new Uint8Array(received === "aborted" ? new ArrayBuffer(0) : received);
          // A view into a larger buffer, with other bytes around it.
          const buffer = new Uint8Array(bytes.byteLength + 14).fill(0xee);
          buffer.set(bytes, 7);
          await store.put(args.key as string, buffer.subarray(7, 7 + bytes.byteLength), signal);
          return json("ok", null);
        }
        case "get": {
          const options: BlobGetOptions = { ...signal, ...(args.expect ? { expectedBytes: size } : {}) };
          const body = await store.get(args.key as string, options);
          return body === null ? json("null", null) : answer("bytes", body as Uint8Array<ArrayBuffer>);
        }
        case "delete":
          await store.delete(args.key as string, signal);
          return json("ok", null);
        case "list":
          return json(
            "ok",
            await store.list!(args.prefix as string, { ...args.options, ...signal } as BlobListOptions),
          );
        case "deleteMany":
          return json("ok", await store.deleteMany!(args.keys as string[], signal));
        default:
          throw new Error(`no operation ${String(args.op)}`);
      }
    } catch (error) {
      if (args.signal && controller.signal.aborted && error === reason) return json("aborted", null);
      const { code, name, message } = error as { code?: string; name?: string; message?: string };
      return json("error", { code, name, message: String(message ?? error) });
    }
  }
}

/** The test's side: a {@link BlobStore} whose calls are requests that `send` delivers to the Worker. */
export function blobStoreProxy(
  name: string,
  send: (
    path: string,
    init: { method: string; headers?: Record<string, string>; body?: Uint8Array | string },
  ) => Promise<Response>,
): BlobStore {
  const control = async (path: string): Promise<void> => {
    await (await send(path, { method: "POST" })).arrayBuffer();
  };

  async function call(
    args: Omit<CallArgs, "id" | "signal" | "aborted" | "expect">,
    options: BlobGetOptions | undefined,
    body?: Uint8Array,
  ): Promise<Response> {
    const id = crypto.randomUUID();
    const signal = options?.signal;
    const full: CallArgs = {
      ...args,
      id,
      signal: signal !== undefined,
      aborted: signal?.aborted ?? false,
      expect: options?.expectedBytes !== undefined,
    };
    // The `/blob/abort` request answers with the call's outcome: when the adapter rejected with
    // the reason, the call rejects at once, whatever its own answer still has to carry.
    let confirm: () => void = () => {};
    const confirmed = new Promise<"aborted">((resolve) => (confirm = () => resolve("aborted")));
    const onAbort = (): void =>
      void send(`/blob/abort?id=${id}`, { method: "POST" })
        .then(async (response) => (await response.json() === "aborted" ? confirm() : undefined))
        .catch(() => {});
    signal?.addEventListener("abort", onAbort, { once: true });
    options?.expectedBytes?.then(
      (bytes) => control(`/blob/settle?id=${id}&bytes=${bytes ?? ""}`),
      () => control(`/blob/settle?id=${id}&bytes=`),
    ).catch(() => {});
    try {
      const sent = send(
        "/blob/call",
        body === undefined
          ? { method: "POST", body: JSON.stringify(full) }
          : { method: "POST", headers: { "x-blob-args": encodeURIComponent(JSON.stringify(full)) }, body },
      );
      const first = await Promise.race([sent, confirmed]);
      if (first === "aborted") {
        void sent.then((late) => late.arrayBuffer()).catch(() => {});
        throw signal?.reason;
      }
      const response = first;
      const outcome = response.headers.get(OUTCOME);
      if (outcome === "aborted") {
        await response.arrayBuffer();
        throw signal?.reason;
      }
      if (outcome === "error") {
        const { code, name, message } = await response.json() as { code?: string; name?: string; message: string };
        throw Object.assign(new Error(message), { code, name: name ?? "Error" });
      }
      if (outcome === null) throw new Error(`the Worker answered ${response.status}: ${await response.text()}`);
      return response;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }
  const result = async <T>(response: Response): Promise<T> => await response.json() as T;

  return {
    name,
    async put(key, body, options) {
      await result(await call({ op: "put", key }, options, body.slice()));
    },
    async get(key, options) {
      const response = await call({ op: "get", key }, options);
      if (response.headers.get(OUTCOME) === "null") return await result<null>(response);
      return new Uint8Array(await response.arrayBuffer());
    },
    async delete(key, options) {
      await result(await call({ op: "delete", key }, options));
    },
    async list(prefix, options) {
      const { signal: _, ...rest } = options ?? {};
      return await result(await call({ op: "list", prefix, options: rest }, options));
    },
    async deleteMany(keys, options) {
      return await result(await call({ op: "deleteMany", keys }, options));
    },
  };
}
