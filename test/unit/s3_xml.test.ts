import { describe, expect, it } from "vitest";
import {
  decodeXmlText,
  deleteRequestBody,
  escapeXml,
  isXmlSafe,
  parseDeleteResult,
  parseListResult,
} from "../../src/blobs/_s3_xml.ts";

const contents = (key: string, size = 1, at = "2024-05-01T12:00:00.000Z"): string =>
  `<Contents><Key>${key}</Key><LastModified>${at}</LastModified><ETag>&quot;e&quot;</ETag><Size>${size}</Size>` +
  `<Owner><ID>o</ID><DisplayName>d</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>`;
const list = (body: string, truncated = false): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
  `<Name>b</Name><Prefix>p/</Prefix><Marker></Marker><MaxKeys>1000</MaxKeys><IsTruncated>${truncated}</IsTruncated>${body}</ListBucketResult>`;

describe("S3 XML", () => {
  it("decodes entities and character references in one pass", () => {
    expect(decodeXmlText("a &amp;lt; b")).toBe("a &lt; b");
    expect(decodeXmlText("&lt;&gt;&quot;&apos;&amp;")).toBe(`<>"'&`);
    expect(decodeXmlText("&#233;&#xE9;&#x1F389;&#0065;")).toBe("éé🎉A");
    expect(decodeXmlText("&#13;&#10;&#9;")).toBe("\r\n\t");
  });

  it("keeps CDATA literally and normalises raw line ends as XML parsers do", () => {
    expect(decodeXmlText("x<![CDATA[&amp;<b>]]>y&amp;")).toBe("x&amp;<b>y&");
    expect(decodeXmlText("a\r\nb\rc")).toBe("a\nb\nc");
  });

  it("refuses unknown, unterminated or invalid references and stray markup", () => {
    for (const bad of ["&nbsp;", "a & b", "&amp", "&#xD800;", "&#x110000;", "&#;", "a<b>c</b>"]) {
      expect(() => decodeXmlText(bad), bad).toThrow(expect.objectContaining({ code: "E_BLOB" }));
    }
  });

  it("escapes text so that it decodes back exactly", () => {
    const samples = [`a&b<c>d"e'f`, "tab\there\nnew\r\nline", "é 日本 🎉", "&amp;", "]]>"];
    for (let i = 0; i < 200; i++) {
      samples.push(
        String.fromCodePoint(...Array.from({ length: 12 }, () => 0x20 + Math.floor(Math.random() * 0x2000))),
      );
    }
    for (const text of samples) expect(decodeXmlText(escapeXml(text)), JSON.stringify(text)).toBe(text);
    expect(escapeXml("\r")).toBe("&#13;");
  });

  it("tells which keys XML cannot carry", () => {
    expect(isXmlSafe("ok é 🎉\t\n\r")).toBe(true);
    for (const bad of ["a\u0001b", "\u0000", "\uFFFE", "lone\uD800", "lone\uDC00x"]) {
      expect(isXmlSafe(bad), bad).toBe(false);
    }
  });

  it("parses a listing page: keys, sizes, times, and the next marker (NextMarker, else the last key)", () => {
    const page = parseListResult(list(contents("p/a&amp;b", 12) + contents("p/c", 0), true));
    expect(page.objects).toStrictEqual([
      { key: "p/a&b", size: 12, lastModified: Date.parse("2024-05-01T12:00:00.000Z") },
      { key: "p/c", size: 0, lastModified: Date.parse("2024-05-01T12:00:00.000Z") },
    ]);
    expect(page.next).toBe("p/c");
    expect(parseListResult(list(`<NextMarker>p/b</NextMarker>${contents("p/a")}`, true)).next).toBe("p/b");
    expect(parseListResult(list(contents("p/a"))).next).toBeUndefined();
    expect(parseListResult(list(""))).toStrictEqual({ objects: [], next: undefined });
  });

  it("refuses malformed listings", () => {
    for (
      const bad of [
        "<Error><Code>x</Code></Error>",
        list(contents("p/a", -1)),
        list(contents("p/a", 1, "yesterday")),
        list(contents("p/a").replace(/<Key>.*<\/Key>/, "")),
        list("", true),
        list(contents("p/a")).replace("<IsTruncated>false", "<IsTruncated>maybe"),
      ]
    ) {
      expect(() => parseListResult(bad), bad).toThrow(expect.objectContaining({ code: "E_BLOB" }));
    }
  });

  it("writes a quiet DeleteObjects body and reads the errors of its result", () => {
    const body = deleteRequestBody(["p/a&b", "p/<c>"]);
    expect(body).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>` +
        `<Object><Key>p/a&amp;b</Key></Object><Object><Key>p/&lt;c&gt;</Key></Object></Delete>`,
    );
    const result = `<DeleteResult><Deleted><Key>p/x</Key></Deleted>` +
      `<Error><Key>p/a&amp;b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>` +
      `<Error><Key>p/c</Key></Error></DeleteResult>`;
    expect(parseDeleteResult(result)).toStrictEqual([
      { key: "p/a&b", code: "AccessDenied" },
      { key: "p/c", code: "UnknownError" },
    ]);
    expect(parseDeleteResult("<DeleteResult/>")).toStrictEqual([]);
    expect(() => parseDeleteResult("<Error><Code>InternalError</Code></Error>")).toThrow(/malformed/);
  });
});
