/**
 * HTML with escaping as the default: the `html` tag escapes every interpolated value (text and
 * attribute alike) unless it is already `Html` made by the tag itself. Keys, tags, namespaces
 * and error messages are chosen by users or attackers; none of them reaches the page unescaped
 * without going through `raw`, which only constant markup may use.
 *
 * @module
 */

/** Markup that is safe to insert as it is. */
export class Html {
  /** The markup. */
  readonly text: string;
  /** Wraps `text`; only for markup built from constants or by {@link html}. */
  constructor(text: string) {
    this.text = text;
  }
  /** The markup. */
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** `text` with `& < > " '` escaped: safe as element text and as a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function piece(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(piece).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(String(value));
}

/** A template whose interpolations are escaped (arrays joined, `Html` kept, null/undefined/false dropped). */
export function html(strings: TemplateStringsArray, ...values: readonly unknown[]): Html {
  let out = strings[0] ?? "";
  for (let i = 0; i < values.length; i++) out += piece(values[i]) + (strings[i + 1] ?? "");
  return new Html(out);
}

/** Constant markup, inserted as it is. */
export function raw(text: string): Html {
  return new Html(text);
}
