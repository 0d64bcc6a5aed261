/**
 * Key and tag templates: `"user:{id}"` filled from a call's arguments, so an entry's key and tags
 * read the way people talk about the data (`user:42`), and the write side can name the same tags
 * as the read side (`resource()`). A placeholder is filled from, in this order of declaration:
 *
 * - `{0}`, `{1}`…: the argument at that position;
 * - `{name}` with a `params` option (`params: ["id", "org"]`): the argument at that name's position
 *   (parameter names are declared, never parsed out of the function's source);
 * - `{name}` without `params`: that field of the first argument that is a plain object
 *   (`getUser({ id: 42 })`).
 *
 * A value must be a string, a finite number, a bigint or a boolean: an object, an array, `null`
 * or `undefined` is a `KeyError` naming the placeholder, never `"[object Object]"` in a key. What
 * can be checked before a call is checked when the template is compiled (syntax, names missing
 * from `params`, characters a tag may not hold): a `ConfigError`. `{{` and `}}` stand for literal
 * braces. Error messages name placeholders, never the argument values (they may be personal data).
 *
 * @module
 */
import { ConfigError, KeyError } from "../errors.ts";
import { checkTags } from "./generations.ts";

/** A placeholder's value: what a template may put into a key or a tag. */
export type TemplateValue = string | number | bigint | boolean;

/** How a template finds its values: the parameter names of the call (optional) and a name for messages. */
export interface TemplateSource {
  /** Names of the call's parameters, in order; `{name}` is then the argument at that position. */
  readonly params?: readonly string[] | undefined;
  /** Names the option in messages, e.g. `wrap(getUser): key`. */
  readonly what: string;
}

/** A compiled template: fills itself from a call's arguments. Throws a `KeyError` naming a placeholder it cannot fill. */
export type Filler = (args: readonly unknown[]) => string;

type Part = string | { readonly name: string; readonly index: number | undefined };

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const POSITION = /^\d{1,3}$/;

/** Whether `text` is a template (has a placeholder or an escaped brace). */
export function isTemplate(text: string): boolean {
  return text.includes("{") || text.includes("}");
}

/** Whether `text` has a placeholder (escaped braces aside); the syntax is checked by {@link compileTemplate}. */
export function hasPlaceholder(text: string): boolean {
  return /\{[^{}]+\}/.test(text.replaceAll("{{", "").replaceAll("}}", ""));
}

/** Checks a `params` option: an array of distinct parameter names. */
export function checkParams(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.some((name) => typeof name !== "string" || !IDENTIFIER.test(name))) {
    throw new ConfigError(`${what} must be an array of parameter names (identifiers), e.g. ["id", "org"]`);
  }
  const duplicate = value.find((name, i) => value.indexOf(name) !== i);
  if (duplicate !== undefined) throw new ConfigError(`${what} names "${duplicate}" twice`);
  return value as string[];
}

/** Compiles `text`; a `ConfigError` naming `source.what` for bad syntax or a name `params` lacks. */
export function compileTemplate(text: string, source: TemplateSource): Filler {
  const parts = parse(text, source.what);
  const { params, what } = source;
  for (const part of parts) {
    if (typeof part === "string" || part.index !== undefined || params === undefined) continue;
    if (!params.includes(part.name)) {
      throw new ConfigError(
        `${what}: placeholder {${part.name}} is not one of params (${params.join(", ")}); add it to params`,
      );
    }
  }
  return (args) => {
    let out = "";
    for (const part of parts) out += typeof part === "string" ? part : String(valueOf(part, args, source));
    return out;
  };
}

/**
 * Compiles a list of tags that may hold templates: the checked list itself when none does, else a
 * function of the arguments. A tag template whose fixed parts a tag may not hold is a `ConfigError`
 * now; one whose filled value is not a valid tag is a `KeyError` naming its placeholders.
 */
export function compileTags(
  tags: readonly string[],
  source: TemplateSource,
): readonly string[] | ((args: readonly unknown[]) => readonly string[]) {
  if (!tags.some((tag) => typeof tag === "string" && isTemplate(tag))) return checkTags(tags, source.what);
  checkTags(tags.map((tag) => typeof tag === "string" ? tag.replace(/\{[^{}]*\}/g, "x") : tag), source.what);
  const fillers = tags.map((tag) => isTemplate(tag) ? { tag, fill: compileTemplate(tag, source) } : tag);
  return (args) =>
    fillers.map((item) => {
      if (typeof item === "string") return item;
      const filled = item.fill(args);
      try {
        return checkTags([filled], source.what)[0]!;
      } catch {
        throw new KeyError(
          `${source.what}: tag template "${item.tag}" filled with this call's ${
            placeholdersOf(item.tag)
          } is not a valid tag (1-128 printable ASCII characters without spaces, quotes, backslashes or brackets)`,
        );
      }
    });
}

/** What {@link resource} returns: a key template and the tags that go with it, and the filled key. */
export interface Resource {
  /** The key template, e.g. `"user:{id}"` (for `wrap`'s `key`). */
  readonly key: string;
  /** The tag templates, e.g. `["user:{id}"]` (for `wrap`'s and `invalidating`'s `tags`). */
  readonly tags: readonly string[];
  /** The filled key (and tag) of one resource, e.g. `keyOf({ id: 42 })` → `"user:42"`, for `invalidateTag` and logs. */
  keyOf(values: Readonly<Record<string, TemplateValue>>): string;
}

/**
 * The key template and tags of a resource named `name` identified by `fields`, so the read side
 * (`wrap`) and the write side (`invalidating`, `invalidateTag`) name the same entries.
 *
 * @example
 * ```ts
 * const user = resource("user", "id"); // key "user:{id}", tags ["user:{id}"]
 * const getUser = cache.wrap(loadUser, { key: user.key, tags: user.tags, params: ["id"] });
 * const saveUser = cache.invalidating(writeUser, { tags: user.tags, params: ["id", "data"] });
 * await cache.invalidateTag(user.keyOf({ id: 42 }));   // "user:42"
 * ```
 */
export function resource(name: string, ...fields: string[]): Resource {
  const what = `resource(${JSON.stringify(String(name)).slice(0, 40)})`;
  if (typeof name !== "string" || isTemplate(name)) {
    throw new ConfigError(`${what}: name must be a string without braces`);
  }
  checkTags([name], `${what}: name`);
  if (fields.length === 0) {
    throw new ConfigError(`${what}: name at least one identifying field, e.g. resource("user", "id")`);
  }
  checkParams(fields, `${what}: fields`);
  const key = [name, ...fields.map((field) => `{${field}}`)].join(":");
  const fill = compileTemplate(key, { what });
  return { key, tags: [key], keyOf: (values) => fill([values]) };
}

function parse(text: string, what: string): Part[] {
  const parts: Part[] = [];
  let literal = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if ((char === "{" || char === "}") && text[i + 1] === char) {
      literal += char;
      i++;
      continue;
    }
    if (char === "}") {
      throw new ConfigError(`${what}: template "${text}" has a "}" with no "{" (write "}}" for a brace)`);
    }
    if (char !== "{") {
      literal += char;
      continue;
    }
    const end = text.indexOf("}", i);
    const name = end < 0 ? "" : text.slice(i + 1, end);
    if (!IDENTIFIER.test(name) && !POSITION.test(name)) {
      throw new ConfigError(
        `${what}: template "${text}" has a bad placeholder at ${i}: write {name} (a parameter or field name) or {0} (a position); "{{" for a brace`,
      );
    }
    if (literal) parts.push(literal);
    literal = "";
    parts.push({ name, index: POSITION.test(name) ? Number(name) : undefined });
    i = end;
  }
  if (literal) parts.push(literal);
  return parts;
}

function valueOf(part: Exclude<Part, string>, args: readonly unknown[], source: TemplateSource): TemplateValue {
  const { name } = part;
  const { params, what } = source;
  let value: unknown;
  if (part.index !== undefined) {
    value = args[part.index];
  } else if (params !== undefined) {
    value = args[params.indexOf(name)];
  } else {
    const holder = args.find(isPlainObject);
    if (holder === undefined) {
      throw new KeyError(
        `${what}: placeholder {${name}} has no value: no argument is a plain object with that field (name the parameters with the params option, or use {0})`,
      );
    }
    value = Object.hasOwn(holder, name) ? holder[name] : undefined;
  }
  if (value === undefined || value === null) {
    throw new KeyError(`${what}: placeholder {${name}} has no value in this call`);
  }
  const type = typeof value;
  if (type === "string" || type === "bigint" || type === "boolean" || (type === "number" && Number.isFinite(value))) {
    return value as TemplateValue;
  }
  throw new KeyError(
    `${what}: placeholder {${name}} is ${
      type === "number" ? "a non-finite number" : Array.isArray(value) ? "an array" : `a ${type}`
    }; templates take strings, finite numbers, bigints or booleans`,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function placeholdersOf(tag: string): string {
  return (tag.match(/\{[^{}]*\}/g) ?? []).join(", ");
}
