import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { generateApiKey, generatePersonalAccessToken } from "@clarive/shared";
import type { RawRequest } from "./fuzzHttp";

/**
 * Generators for hostile HTTP requests. A request is generated as a template: secrets the
 * fixture holds (a live API key, a live token) are named by placeholders and filled in when the
 * request is sent, so a generated counterexample prints without secrets and still replays.
 */

/** Secrets and names the fixture can fill in: `⟦apiKey⟧`, `⟦pat⟧`, `⟦user⟧`… */
export type FuzzValues = Record<string, string>;

export type AuthTemplate =
  | { kind: "none" }
  | { kind: "raw"; value: string }
  | { kind: "basic"; user: string; password: string; scheme?: string }
  | { kind: "bearer"; value: string; scheme?: string };

export type BodyTemplate =
  | { kind: "none" }
  | { kind: "text"; text: string }
  | { kind: "bytes"; bytes: Uint8Array }
  /** The text compressed, with or without the Content-Encoding header that says so. */
  | { kind: "gzip"; text: string };

export interface RequestTemplate {
  method: string;
  target: string;
  auth: AuthTemplate;
  headers: [string, string][];
  body: BodyTemplate;
}

export const placeholder = (name: string): string => `⟦${name}⟧`;

const fill = (text: string, values: FuzzValues): string => text.replace(/⟦(\w+)⟧/g, (whole, name: string) => values[name] ?? whole);

/** The bytes to send for a template, with the fixture's current secrets filled in. */
export function resolveRequest(template: RequestTemplate, values: FuzzValues): RawRequest {
  const headers: [string, string][] = template.headers.map(([name, value]) => [name, fill(value, values)]);
  const auth = template.auth;
  if (auth.kind === "raw") headers.push(["Authorization", fill(auth.value, values)]);
  if (auth.kind === "basic") {
    const pair = Buffer.from(`${fill(auth.user, values)}:${fill(auth.password, values)}`, "utf8").toString("base64");
    headers.push(["Authorization", `${auth.scheme ?? "Basic"} ${pair}`]);
  }
  if (auth.kind === "bearer") headers.push(["Authorization", `${auth.scheme ?? "Bearer"} ${fill(auth.value, values)}`]);
  const body = template.body;
  const bytes =
    body.kind === "text"
      ? Buffer.from(fill(body.text, values), "utf8")
      : body.kind === "bytes"
        ? Buffer.from(body.bytes)
        : body.kind === "gzip"
          ? gzipSync(fill(body.text, values))
          : undefined;
  // Header values travel as latin1: a name or value outside it is sent byte for byte as UTF-8.
  const latin1 = (text: string) => Buffer.from(text, "utf8").toString("latin1");
  return {
    method: template.method,
    target: latin1(fill(template.target, values)),
    headers: headers.map(([name, value]) => [latin1(name), latin1(value)]),
    ...(bytes && { body: bytes }),
  };
}

/** A short line naming a request, for failure messages (secrets stay placeholders). */
export const describeRequest = (t: RequestTemplate): string =>
  `${t.method} ${t.target.slice(0, 160)} auth=${JSON.stringify(t.auth).slice(0, 120)} ` +
  `headers=${JSON.stringify(t.headers).slice(0, 200)} body=${t.body.kind === "bytes" ? `${t.body.bytes.length} bytes` : JSON.stringify(t.body).slice(0, 200)}`;

// ---------------------------------------------------------------------------------------------
// Methods

/** Methods Node's parser knows but the service does not serve, and a few it does not know at all. */
const ODD_METHODS = [
  "TRACE",
  "PROPFIND",
  "PROPPATCH",
  "MKCOL",
  "COPY",
  "MOVE",
  "LOCK",
  "UNLOCK",
  "SEARCH",
  "PURGE",
  "REPORT",
  "MKACTIVITY",
  "CHECKOUT",
  "MERGE",
  "M-SEARCH",
  "NOTIFY",
  "SUBSCRIBE",
  "UNSUBSCRIBE",
  "LINK",
  "UNLINK",
  "QUERY",
  "SOURCE",
  "ACL",
  "BIND",
  "REBIND",
  "UNBIND",
  "MKCALENDAR",
  "get",
  "Post",
  "FOO",
  "BREW",
  "GETT",
  "G3T",
  "X".repeat(40),
];

export const methodArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE") },
  { weight: 2, arbitrary: fc.constantFrom("HEAD", "OPTIONS") },
  { weight: 3, arbitrary: fc.constantFrom(...ODD_METHODS) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z!#$%&'*+.^_`|~-]{1,12}$/) },
);

// ---------------------------------------------------------------------------------------------
// Paths

/** Bits that make a path mean something else to one reader than to another. */
const TRICKY_SEGMENTS = [
  "",
  ".",
  "..",
  "%2e%2e",
  "%2E%2E",
  ".%2e",
  "%2e.",
  "%2F",
  "%2f..%2f",
  "%5C",
  "\\",
  "..\\..",
  "%00",
  "%",
  "%zz",
  "%25",
  "%252e%252e",
  "a%25b",
  "%C0%AE%C0%AE",
  "%ff%fe",
  "é",
  "日本",
  ";",
  ";jsessionid=1",
  "~",
  "*",
  "%20",
  "+",
  "@",
  ":",
  "?",
  "#frag",
  "\u007f",
];

const segmentArb = (known: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: fc.constantFrom(...known).map(swapCase) },
    { weight: 4, arbitrary: fc.constantFrom(...TRICKY_SEGMENTS) },
    { weight: 2, arbitrary: fc.string({ maxLength: 12 }).map(encodeSegment) },
    { weight: 1, arbitrary: fc.constantFrom("0", "-1", "1.5", "1e99", "99999999999999999999", "0x10", "NaN", "007") },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((n) => "a".repeat(n * 3000)) },
  );

const swapCase = (text: string): string =>
  [...text].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c.toLowerCase())).join("") === text
    ? text.toUpperCase()
    : [...text].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c.toLowerCase())).join("");

/** Spaces, CR and LF would end the request line; everything else goes as typed (even raw bytes). */
const encodeSegment = (text: string): string => text.replace(/[\s]/g, (c) => encodeURIComponent(c));

const queryArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constant("") },
  {
    weight: 4,
    arbitrary: fc
      .array(
        fc.tuple(
          fc.constantFrom("service", "limit", "before", "q", "page", "service", "a", "%73ervice", ""),
          fc.oneof(
            fc.constantFrom("git-upload-pack", "git-receive-pack", "GIT-UPLOAD-PACK", "1", "-1", "0", "abc", "%", "%00", "1e9", ""),
            fc.string({ maxLength: 8 }).map(encodeSegment),
          ),
        ),
        { maxLength: 3 },
      )
      .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`),
  },
  { weight: 1, arbitrary: fc.constantFrom("?", "??", "?&&", "?=", "?service", `?${"x=1&".repeat(2000)}`) },
);

/**
 * A path built from the surface's own words (so requests reach real routes and resources),
 * mixed with traversal, encodings, case changes, empty segments and huge ones.
 */
export function pathArb(prefixes: string[], words: string[], endings: string[] = []): fc.Arbitrary<string> {
  const tail = fc.array(segmentArb(words), { minLength: 0, maxLength: 6 });
  const built = fc
    .tuple(
      fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(...prefixes) },
        { weight: 1, arbitrary: fc.constantFrom(...prefixes).map(swapCase) },
      ),
      tail,
      endings.length ? fc.option(fc.constantFrom(...endings), { freq: 2 }) : fc.constant(null),
      queryArb,
      fc.constantFrom("", "", "", "/", "//"),
    )
    .map(([prefix, segments, ending, query, slash]) => {
      const path = [prefix, ...segments, ...(ending ? [ending] : [])].join("/");
      return `${path}${slash}${query}`;
    });
  return fc.oneof(
    { weight: 20, arbitrary: built },
    // Whole-target oddities: no leading slash, absolute form, an asterisk, doubled slashes first.
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "*",
        "api/v1/me",
        "http://127.0.0.1/api/v1/me",
        "//api/v1/me",
        "/%2e%2e/api/v1/me",
        "/api/v1/%2e%2e/v1/me",
        "/api//v1/me",
        "/api/v1/me%00",
        "/api/v1\\me",
        "/git//acme/widgets.git/info/refs?service=git-upload-pack",
        "//a%25b/acme/widgets.git/info/refs?service=git-upload-pack",
      ),
    },
    { weight: 1, arbitrary: built.map((path) => path.replace(/\//g, (s, i: number) => (i % 3 === 0 ? "%2F" : s))) },
  );
}

/** One change that gives a real route's path another spelling (or another reading). */
const MUTATIONS: ((segments: string[], at: number) => string[])[] = [
  (s, at) => s.map((seg, i) => (i === at ? swapCase(seg) : seg)),
  (s, at) => [...s.slice(0, at), "..", ...s.slice(at)],
  (s, at) => [...s.slice(0, at), "%2e%2e", ...s.slice(at)],
  (s, at) => [...s.slice(0, at), ".", ...s.slice(at)],
  (s, at) => [...s.slice(0, at), "", ...s.slice(at)],
  (s, at) => [...s.slice(0, at), `${s[at] ?? ""}%2F${s[at + 1] ?? ""}`, ...s.slice(at + 2)],
  (s, at) => [...s.slice(0, at), `${s[at] ?? ""}\\${s[at + 1] ?? ""}`, ...s.slice(at + 2)],
  (s, at) => s.map((seg, i) => (i === at ? `${seg}%00` : seg)),
  (s, at) => s.map((seg, i) => (i === at ? `${seg}\u0000` : seg)),
  (s, at) => s.map((seg, i) => (i === at ? encodeURIComponent(seg).replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`) : seg)),
  (s) => [...s, ""],
];

/**
 * The paths of real routes (`/api/v1/tokens/{id}`), parameters filled from `params`, then
 * sometimes mutated: traversal, encoded slashes, backslashes, NUL, case, empty segments.
 */
export function routePathArb(routes: string[], params: Record<string, string[]>): fc.Arbitrary<string> {
  const paramArb = (name: string) =>
    fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom(...(params[name] ?? ["x"])) },
      { weight: 1, arbitrary: fc.constantFrom(...TRICKY_SEGMENTS) },
    );
  return fc
    .constantFrom(...routes)
    .chain((route) => {
      const names = [...route.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? "");
      return fc.tuple(
        fc.constant(route),
        fc.tuple(...names.map(paramArb)),
        fc.oneof(
          { weight: 5, arbitrary: fc.constant([]) },
          { weight: 2, arbitrary: fc.array(fc.tuple(fc.nat(MUTATIONS.length - 1), fc.nat(8)), { minLength: 1, maxLength: 2 }) },
        ),
        fc.oneof({ weight: 3, arbitrary: fc.constant("") }, { weight: 1, arbitrary: queryArb }),
      );
    })
    .map(([route, values, mutations, query]) => {
      let i = 0;
      const [routePath = "", routeQuery] = route.split("?");
      let segments = routePath.replace(/\{\w+\}/g, () => values[i++] ?? "").split("/");
      for (const [which, at] of mutations)
        segments = (MUTATIONS[which] ?? MUTATIONS[0]!)(segments, 1 + (at % Math.max(1, segments.length - 1)));
      // A route's own query (?service=…) stays; a generated one is added to it.
      const extra = routeQuery !== undefined && query ? `&${query.slice(1)}` : query;
      return `${segments.join("/")}${routeQuery !== undefined ? `?${routeQuery}` : ""}${extra}`;
    });
}

// ---------------------------------------------------------------------------------------------
// Authorization

/** Well-formed secrets nobody holds, and ones whose checksum is wrong in the last character. */
const strangerPat = generatePersonalAccessToken();
const strangerKey = generateApiKey();
export const badChecksum = (secret: string): string => secret.slice(0, -1) + (secret.endsWith("A") ? "B" : "A");

const userArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(placeholder("user"), "admin", "alice", "nobody", "ADMIN", "") },
  { weight: 2, arbitrary: fc.constantFrom(placeholder("pat"), placeholder("apiKey"), strangerPat) },
  { weight: 2, arbitrary: fc.constantFrom("a\u0000b", "\u0000", "al\u0000ice", "tab\there", "new\nline", "\u007f", "\uFFFD", "é") },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constant("u".repeat(1500)) },
);

const secretArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(placeholder("pat"), placeholder("apiKey"), placeholder("deadPat"), placeholder("patBadChecksum")),
  },
  { weight: 3, arbitrary: fc.constantFrom(strangerPat, strangerKey, badChecksum(strangerPat), badChecksum(strangerKey)) },
  { weight: 2, arbitrary: fc.constantFrom("clapat_", "clapi_", "clapat_short", `clapat_${"A".repeat(500)}`, `${strangerPat}x`) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constant("p".repeat(1400)) },
);

export const authArb: fc.Arbitrary<AuthTemplate> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: "none" as const }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("bearer" as const), value: secretArb }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("basic" as const), user: userArb, password: secretArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("basic" as const),
      user: userArb,
      password: secretArb,
      scheme: fc.constantFrom("basic", "BASIC", "Bearer", "Basic  ", "Digest"),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("bearer" as const),
      value: secretArb,
      scheme: fc.constantFrom("bearer", "Basic", "Token", "Bearer  "),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("raw" as const),
      value: fc.oneof(
        fc.constantFrom(
          "Basic",
          "Bearer",
          "Basic !!!!",
          "Basic ====",
          "Basic Og==",
          "Basic YWxpY2U=",
          "Bearer ",
          `Basic ${"A".repeat(5000)}`,
        ),
        fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, "")),
      ),
    }),
  },
);

// ---------------------------------------------------------------------------------------------
// Headers

const headerPairArb: fc.Arbitrary<[string, string]> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(
      fc.constant("Content-Type"),
      fc.constantFrom(
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin1",
        "APPLICATION/JSON",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/x-git-upload-pack-request",
        "application/x-git-receive-pack-request",
        "application/x-git-upload-pack-request; charset=x",
        "garbage",
        "",
        ";;;",
        "application/",
      ),
    ),
  },
  {
    weight: 4,
    arbitrary: fc.tuple(
      fc.constant("Content-Encoding"),
      fc.constantFrom("gzip", "deflate", "br", "identity", "zstd", "gzip, gzip", "x-garbage", ""),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constantFrom("X-Forwarded-For", "X-Real-IP", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded"),
      fc.oneof(
        fc.ipV4(),
        fc.ipV6(),
        fc.constantFrom("unknown", "", "1.2.3.4, 5.6.7.8", "::ffff:1.2.3.4", "a".repeat(300), "https", "evil.example"),
      ),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constantFrom("Accept", "Accept-Encoding", "Git-Protocol", "Expect", "Range", "If-None-Match", "Origin", "Cookie", "User-Agent"),
      fc.oneof(fc.constantFrom("*/*", "version=2", "100-continue", "bytes=0-1", "gzip;q=0", "text/html"), fc.string({ maxLength: 20 })),
    ),
  },
  { weight: 2, arbitrary: fc.tuple(fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/), fc.string({ maxLength: 30 })) },
  // Huge: just under and over the 16 KiB header limit.
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constant("X-Padding"),
      fc.constantFrom(8_000, 15_000, 17_000).map((n) => "p".repeat(n)),
    ),
  },
);

/** Header values cannot hold CR or LF (they would end the header); anything else is sent as is, NUL too. */
export const headersArb: fc.Arbitrary<[string, string][]> = fc
  .array(headerPairArb, { maxLength: 4 })
  .map((pairs) => pairs.map(([name, value]): [string, string] => [name, value.replace(/[\r\n]/g, " ")]));

// ---------------------------------------------------------------------------------------------
// Bodies

const deep = (depth: number, open: string, close: string) => open.repeat(depth) + close.repeat(depth);

/** A JSON object with the route's field names, each with a value of any type. */
export const fieldsBodyArb = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<string> => {
  const anyValue = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(null, true, -1, 0, 1e308, "", "x".repeat(300), [], {}, { $gt: "" }, "__proto__"),
  );
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, arbitrary] of Object.entries(fields))
    model[name] = fc.oneof({ weight: 3, arbitrary }, { weight: 1, arbitrary: anyValue });
  return fc
    .tuple(
      fc.record(model, { requiredKeys: [] }),
      fc.option(fc.dictionary(fc.constantFrom("extra", "__proto__", "constructor", "id", "isAdmin", "userId"), anyValue, { maxKeys: 2 }), {
        freq: 4,
      }),
    )
    .map(([known, extra]) => JSON.stringify({ ...known, ...(extra ?? {}) }));
};

export const bodyArb = (fieldBodies: fc.Arbitrary<string>): fc.Arbitrary<BodyTemplate> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: "none" as const }) },
    { weight: 8, arbitrary: fieldBodies.map((text) => ({ kind: "text" as const, text })) },
    {
      weight: 2,
      arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: "text" as const, text: JSON.stringify(value) ?? "null" })),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(
          "{",
          "{]",
          '{"a":1,}',
          "{'a':1}",
          "undefined",
          "NaN",
          '{"a":"\\u0000"}',
          '{"a":"\\ud800"}',
          "\u0000",
          '{"username":"admin","password":"x"',
          `{"a":${"1".repeat(400)}}`,
          '{"__proto__":{"isAdmin":true}}',
          deep(5000, "[", "]"),
          deep(5000, '{"a":', "}").replace(/}+$/, (m) => `1${m}`),
        )
        .map((text) => ({ kind: "text" as const, text })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(60_000, 70_000, 200_000)
        .map((n) => ({ kind: "text" as const, text: JSON.stringify({ description: "d".repeat(n) }) })),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: "bytes" as const, bytes })) },
    { weight: 1, arbitrary: fieldBodies.map((text) => ({ kind: "gzip" as const, text })) },
  );

export const requestArb = (parts: {
  method?: fc.Arbitrary<string>;
  target: fc.Arbitrary<string>;
  auth?: fc.Arbitrary<AuthTemplate>;
  headers?: fc.Arbitrary<[string, string][]>;
  body: fc.Arbitrary<BodyTemplate>;
}): fc.Arbitrary<RequestTemplate> =>
  fc.record({
    method: parts.method ?? methodArb,
    target: parts.target,
    auth: parts.auth ?? authArb,
    headers: parts.headers ?? headersArb,
    body: parts.body,
  });
