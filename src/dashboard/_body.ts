/**
 * The fields of an action request: an HTML form (`application/x-www-form-urlencoded`) or a JSON
 * object from a script, read up to {@link MAX_BODY_BYTES} (the body is cut off there, never
 * buffered whole), string values only.
 *
 * @module
 */
import { concatBytes, readAll } from "./_core.ts";

/** Largest action body accepted. */
const MAX_BODY_BYTES: number = 16 * 1024;

/** The fields, or why the body was refused (with the status to answer). */
export type Fields =
  | { readonly ok: true; readonly fields: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly status: number; readonly message: string };

/** Thrown to stop reading a body over {@link MAX_BODY_BYTES}. */
class TooLong extends Error {}

async function boundedText(request: Request): Promise<string | undefined> {
  const reader = request.body?.getReader();
  if (!reader) return "";
  try {
    const { chunks, total } = await readAll(reader, (size) => {
      if (size > MAX_BODY_BYTES) throw new TooLong();
    });
    return new TextDecoder().decode(concatBytes(chunks, total));
  } catch (error) {
    if (error instanceof TooLong) return undefined;
    throw error;
  }
}

/** Reads the request's fields; see the module doc. */
export async function readFields(request: Request): Promise<Fields> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded" && type !== "application/json") {
    return { ok: false, status: 415, message: "send the action as a form (application/x-www-form-urlencoded) or JSON" };
  }
  const text = await boundedText(request);
  if (text === undefined) return { ok: false, status: 413, message: `the body is over ${MAX_BODY_BYTES} bytes` };
  const fields: Record<string, string> = {};
  if (type === "application/json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { ok: false, status: 400, message: "the body is not valid JSON" };
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return { ok: false, status: 400, message: "the body must be a JSON object of strings" };
    }
    for (const [name, value] of Object.entries(parsed)) {
      if (typeof value !== "string") return { ok: false, status: 400, message: `field "${name}" must be a string` };
      fields[name] = value;
    }
  } else {
    for (const [name, value] of new URLSearchParams(text)) fields[name] = value;
  }
  return { ok: true, fields };
}
