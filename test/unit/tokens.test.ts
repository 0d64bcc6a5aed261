/** Generation and lease tokens: unique, and cheap enough for every lookup. */
import { describe, expect, it, vi } from "vitest";
import { newToken } from "../../src/core/record/generations.ts";

describe("newToken", () => {
  it("never repeats, and draws random bits once per process rather than once per token", () => {
    newToken(); // the session is drawn on first use
    const draw = vi.spyOn(crypto, "getRandomValues");
    try {
      const tokens = Array.from({ length: 20_000 }, newToken);
      expect(new Set(tokens).size).toBe(tokens.length);
      expect(draw).not.toHaveBeenCalled();
    } finally {
      draw.mockRestore();
    }
  });

  it("reads as time, session, count: unambiguous however long each part is", () => {
    const [time, session, count] = newToken().split(".");
    expect(Number.parseInt(time!, 36)).toBeGreaterThan(Date.now() - 60_000);
    expect(session).toMatch(/^[0-9a-z]{8,14}$/);
    expect(count).toMatch(/^[0-9a-z]+$/);
  });
});
