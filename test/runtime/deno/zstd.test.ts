/// <reference lib="deno.ns" />
// Larder's zstd on Deno needs no permission: the WASM is embedded in the library, not read from
// the npm package's files (which took `--allow-read` once a value passed the compression threshold).
const script = new URL("./_zstd_no_permissions.ts", import.meta.url).pathname;

Deno.test("deno: zstd compresses and decompresses with no permission at all (no --allow-read)", async () => {
  const output = await new Deno.Command(Deno.execPath(), { args: ["run", "--no-prompt", script] }).output();
  const text = new TextDecoder();
  const stdout = text.decode(output.stdout);
  if (output.code !== 0) throw new Error(`exit ${output.code}: ${text.decode(output.stderr)}`);
  const result = JSON.parse(stdout) as { compression: string; encodedBytes: number; errors: number };
  if (result.compression !== "zstd" || result.encodedBytes < 256 || result.errors !== 0) {
    throw new Error(`expected a zstd entry and no errors, got ${stdout}`);
  }
});
