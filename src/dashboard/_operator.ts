/**
 * The operator's cards: each backend's breaker, errors and last error; the configuration in
 * force; the action forms (each carrying the session's token); and the answer to an action.
 * Everything that comes from users or storage — keys, namespaces, tags, hashes, error messages,
 * decoded values — goes through the `html` tag's escaping.
 *
 * @module
 */
import type { ActionResult } from "./_actions.ts";
import type { ConfigView } from "./_config.ts";
import type { EntryInspection } from "./_core.ts";
import { fig } from "./_figures.ts";
import { bytes, duration } from "./_format.ts";
import { escapeHtml, type Html, html, raw } from "./_html.ts";
import type { DashboardModel } from "./_model.ts";

function backendRow(m: DashboardModel, name: "store" | "blob"): Html {
  const b = m.backends?.[name];
  const p = `backends.${name}`;
  return html`
    <tr>
      <th>${name}</th>
      <td>${b?.adapter ?? "none"}</td>
      <td>${fig(m, `${p}.state`, "text")}</td>
      <td>${b?.breaker ? fig(m, `${p}.breaker.state`, "text") : "off"}</td>
      <td class="num">${b?.breaker ? fig(m, `${p}.breaker.opened`) : "–"}</td>
      <td class="num">${b?.breaker ? fig(m, `${p}.breaker.rejected`) : "–"}</td>
      <td class="num">${fig(m, `${p}.errors`)}</td>
      <td class="num">${fig(m, `${p}.latency.p95`, "ms")}</td>
      <td class="error">${fig(m, `${p}.lastError.message`, "text")}<div class="fix">${fig(
        m,
        `${p}.lastError.fix`,
        "opt",
      )}</div></td>
    </tr>
  `;
}

function backendsCard(m: DashboardModel): Html {
  const codes = Object.entries(m.backends?.errorsByCode ?? {});
  return html`
    <section class="card wide" id="backends">
      <h2>Backends</h2>
      <table>
        <thead>
          <tr>
            <th></th>
            <th>adapter</th>
            <th>state</th>
            <th>breaker</th>
            <th class="num">opened</th>
            <th class="num">refused</th>
            <th class="num">errors</th>
            <th class="num">p95</th>
            <th>last error</th>
          </tr>
        </thead>
        <tbody>${backendRow(m, "store")}${backendRow(m, "blob")}</tbody>
      </table>
      <p>Errors by code: ${codes.length === 0 ? "none" : codes.map(([code, n]) =>
        html`
          <code>${code}</code> ${n}
        `
      )}
    (total ${fig(m, "instance.errors.total")}; codec ${fig(m, "instance.errors.codec")}, integrity ${fig(
      m,
      "instance.errors.integrity",
    )})</p>
    </section>
  `;
}

function configRows(c: ConfigView): [string, string][] {
  const rows: [string, string][] = [
    ["prefix", c.prefix],
    ["namespace", c.namespace],
    ["store", c.store],
    ["blobs", c.blobs ?? "none (large values are not cached)"],
    ["ttl", duration(c.ttlMs)],
    ["codec, compression", `${c.codec}, ${c.compression}`],
    ["maxInlineBytes (placement)", bytes(c.maxInlineBytes)],
    ["maxValueBytes", bytes(c.maxValueBytes)],
    [
      "encryption",
      c.encryption
        ? `AES-256-GCM, new payloads with key ${c.encryption.current}; readable keys: ${c.encryption.keyIds.join(", ")}`
        : "off",
    ],
    [
      "timeouts",
      `store ${duration(c.timeouts.storeMs)}, blob ${duration(c.timeouts.blobMs)}, total ${
        c.timeouts.totalMs === null ? "none" : duration(c.timeouts.totalMs)
      }`,
    ],
    ["maxPendingWrites", String(c.maxPendingWrites)],
    ["waitUntil", c.waitUntil ? "yes" : "no"],
    ["memory tier", c.memory ? `${bytes(c.memory.maxBytes)}, ttl ${duration(c.memory.ttlMs)}` : "off"],
    ["breaker", c.breaker ? `${c.breaker.threshold} failures, cooldown ${duration(c.breaker.cooldownMs)}` : "off"],
    ["lease", c.lease ? `ttl ${duration(c.lease.ttlMs)}, wait ${duration(c.lease.waitMs)}` : "off"],
    ["staleWhileRevalidate", c.staleWhileRevalidateMs ? duration(c.staleWhileRevalidateMs) : "off"],
    ["staleIfError", c.staleIfErrorMs ? duration(c.staleIfErrorMs) : "off"],
    ["globalStats interval", c.globalStatsIntervalMs === null ? "off" : duration(c.globalStatsIntervalMs)],
  ];
  for (const [namespace, l] of Object.entries(c.limits)) {
    rows.push([`limits.${namespace}`, `${l.maxEntries || "∞"} entries, ${l.maxBytes ? bytes(l.maxBytes) : "∞ bytes"}`]);
  }
  return rows;
}

/** Name–value rows as a two-column table. */
function kvTable(rows: readonly (readonly [string, string])[]): Html {
  return html`
    <table class="kv">
      <tbody>${rows.map(([k, v]) =>
        html`
          <tr>
            <th>${k}</th>
            <td>${v}</td>
          </tr>
        `
      )}</tbody>
    </table>
  `;
}

function configCard(m: DashboardModel): Html {
  const rows = m.config ? configRows(m.config) : [];
  return html`
    <section class="card" id="config">
      <h2>Configuration in force</h2>
      ${kvTable(rows)}
    </section>
  `;
}

function actionsCard(m: DashboardModel): Html {
  const token = html`<input type="hidden" name="csrf" value="${m.csrf ?? ""}">`;
  return html`
    <section class="card" id="actions">
      <h2>Actions</h2>
      <form method="post" id="inspect-form"><input type="hidden" name="action" value="inspect">${token}
    <h3>Inspect an entry</h3>
    <label>key <input name="key" autocomplete="off"></label>
    <label>namespace <input name="namespace" placeholder="${m.config?.namespace ??
      "default"}" autocomplete="off"></label>
    <label>or key hash <input name="hash" pattern="[0-9a-f]{64}" autocomplete="off"></label>
    <button type="submit">Inspect</button></form>
      <form method="post" id="invalidate-form"><input type="hidden" name="action" value="invalidate">${token}
    <h3>Invalidate</h3>
    <label><select name="kind"><option value="tag">tag</option><option value="namespace">namespace</option></select>
    <input name="name" required autocomplete="off"></label>
    <label><select name="mode"><option value="expire">expire (entries miss)</option><option value="stale">mark stale (refresh on next use)</option></select></label>
    <button type="submit">Invalidate</button></form>
      <form method="post" id="cleanup-form"><input type="hidden" name="action" value="cleanup">${token}
    <h3>Cleanup of orphaned blobs</h3>
    <label>grace <input name="grace" placeholder="1h" size="6" autocomplete="off"></label>
    <button type="submit">Dry run (deletes nothing)</button></form>
    </section>
  `;
}

function inspectionRows(found: EntryInspection): [string, string][] {
  const rows: [string, string][] = [["hash", found.hash], ["record key", found.recordKey]];
  const r = found.record;
  if (r) {
    if (r.readableKey !== undefined) rows.push(["stored key", r.readableKey]);
    rows.push(
      ["placement", r.placement === "inline" ? "inline (payload inside the record)" : `blob ${r.blobKey ?? ""}`],
      [
        "format",
        `v${r.version}, codec ${r.codec}, compression ${r.compression}${
          r.encryptionKey === undefined ? "" : `, encrypted (key ${r.encryptionKey})`
        }`,
      ],
      ["size", `${bytes(r.encodedBytes)} encoded, ${bytes(r.storedBytes)} stored`],
      ["checksum", `sha256 ${r.checksum}`],
      ["created", new Date(r.createdAt).toISOString()],
      [
        "expires",
        `${new Date(r.expiresAt).toISOString()} (${r.ttlLeftMs > 0 ? `in ${duration(r.ttlLeftMs)}` : "expired"})`,
      ],
      ["standing", r.standing],
      ...r.generations.map((g): [string, string] => ["generation", `${g.key}  ${g.state}`]),
      ...Object.entries(r.otherFields).map(([k, v]): [string, string] => [k, JSON.stringify(v) ?? ""]),
    );
    if (r.payloadVerified !== undefined) {
      rows.push(["payload", r.payloadVerified ? "verified (size and checksum match)" : "DOES NOT MATCH the record"]);
    }
  } else {
    rows.push(["record", "none"]);
  }
  rows.push(["lease", found.leased ? "held (an instance is computing this entry)" : "none"]);
  if (found.blob) {
    const b = found.blob;
    rows.push([
      "blob",
      `${b.key}  ${b.exists ? `${bytes(b.size ?? 0)}${b.referenced ? "" : ", an orphan"}` : "absent"}`,
    ]);
  }
  if (found.problem) rows.push(["problem", found.problem]);
  return rows;
}

/** A `<pre>` of `text`, escaped; outside the templates, whose reflowing would add white space to it. */
function pre(text: string): Html {
  return raw(`<pre class="value">${escapeHtml(text)}</pre>`);
}

function resultCard(result: ActionResult): Html {
  const rows: [string, string][] = [];
  if (result.target && "key" in result.target) {
    rows.push(["key", result.target.key], ["namespace", result.target.namespace ?? "(default)"]);
  }
  if (result.inspection) rows.push(...inspectionRows(result.inspection));
  if (result.cleanup) {
    const c = result.cleanup;
    for (const name of ["scanned", "live", "recent", "foreign", "orphans", "orphanBytes", "pages"] as const) {
      rows.push([name, String(c[name])]);
    }
  }
  const value = result.value === undefined ? "" : result.value === null ? html`<p>No value to show.</p>` : html`
    <h3>Value</h3>
    ${pre(result.value)}
  `;
  return html`<section class="card wide result ${result.ok ? "ok" : "failed"}" id="result" role="status">
<h2>${result.action || "action"}: ${result.ok ? "done" : "refused"}</h2>
<p class="summary">${result.summary}</p>
${rows.length === 0 ? "" : kvTable(rows)}
${value}
</section>`;
}

/** The operator's cards; the action's answer first when there is one. */
export function operatorCards(m: DashboardModel): Html {
  return html`${backendsCard(m)}${configCard(m)}${actionsCard(m)}`;
}

/** The answer to an action, as a card. */
export function actionCard(result: ActionResult): Html {
  return resultCard(result);
}
