import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

// Layers point one way: routes → services → db; views are rendered by routes only;
// src/sheets/ is pure file formats. This reads every import of the source tree and fails
// when one crosses a layer the wrong way.

const ROOT = resolve(import.meta.dir, "../..");
const transpilers = { ts: new Bun.Transpiler({ loader: "ts" }), tsx: new Bun.Transpiler({ loader: "tsx" }) };

type Import = { from: string; to: string; typeOnly: boolean };

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return filesUnder(path);
    return /\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Every import of a file, resolved to a path from the project root; packages keep their name. */
function importsOf(file: string): Import[] {
  const source = readFileSync(join(ROOT, file), "utf8");
  const resolveSpecifier = (specifier: string) =>
    specifier.startsWith(".") ? relative(ROOT, resolve(ROOT, dirname(file), specifier)) : specifier;
  // The transpiler drops imports that only bring types; the pattern sees them all.
  const transpiler = file.endsWith(".tsx") ? transpilers.tsx : transpilers.ts;
  const values = new Set(transpiler.scanImports(source).map((entry) => resolveSpecifier(entry.path)));
  const all = new Set(values);
  for (const match of source.matchAll(/\b(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) all.add(resolveSpecifier(match[1]!));
  return [...all].map((to) => ({ from: file, to, typeOnly: !values.has(to) }));
}

const FILES = [...filesUnder("src"), ...filesUnder("views")];
const IMPORTS = FILES.flatMap(importsOf);

const under = (prefix: string) => (path: string) => path === prefix || path.startsWith(`${prefix}/`);
const ROUTES = ["src/routes", "src/app.tsx", "src/main.ts", "src/cli.ts", "src/http.ts"].map(under);
const isRoute = (path: string) => ROUTES.some((inside) => inside(path));

type Rule = {
  layer: string;
  files: (path: string) => boolean;
  /** What the layer must not import; `types` also counts imports that only bring types. */
  forbidden: (path: string) => boolean;
  types: boolean;
};

const RULES: Rule[] = [
  {
    layer: "src/sheets holds pure file formats",
    files: under("src/sheets"),
    forbidden: (to) => ["src/db", "src/mail", "src/services", "src/jobs", "views", "src/config.ts", "src/deps.ts"].some((p) => under(p)(to)) || isRoute(to),
    types: true,
  },
  {
    layer: "src/services neither renders nor runs jobs",
    files: under("src/services"),
    forbidden: (to) => under("views")(to) || under("src/jobs")(to) || under("src/mail")(to) || isRoute(to),
    types: true,
  },
  {
    layer: "src/jobs, src/mail and src/db never reach up to routes or views",
    files: (path) => ["src/jobs", "src/mail", "src/db"].some((p) => under(p)(path)),
    forbidden: (to) => under("views")(to) || isRoute(to),
    types: true,
  },
  {
    layer: "src/db knows only the database",
    files: under("src/db"),
    forbidden: (to) => ["src/services", "src/jobs", "src/mail", "src/sheets"].some((p) => under(p)(to)),
    types: true,
  },
  {
    layer: "views only render: no routes, jobs, database or mail",
    files: under("views"),
    forbidden: (to) => isRoute(to) || ["src/jobs", "src/db", "src/mail", "drizzle-orm", "bun:sqlite"].some((p) => under(p)(to)),
    types: false,
  },
  {
    layer: "routes reach the database through services",
    files: under("src/routes"),
    forbidden: (to) => under("src/db")(to) || to.startsWith("drizzle-orm") || to === "bun:sqlite",
    types: true,
  },
];

describe("layers point one way", () => {
  test("the source tree is read: every layer has files and imports", () => {
    for (const rule of RULES) expect(FILES.filter(rule.files).length, rule.layer).toBeGreaterThan(0);
    // The resolver sees the imports the rules are about, so a rule cannot pass by reading nothing.
    expect(IMPORTS).toContainEqual({ from: "src/routes/placement.tsx", to: "src/services/campaigns.ts", typeOnly: false });
    expect(IMPORTS).toContainEqual({ from: "views/context.ts", to: "src/db/schema.ts", typeOnly: true });
  });

  for (const rule of RULES) {
    test(rule.layer, () => {
      const crossing = IMPORTS.filter((entry) => rule.files(entry.from) && rule.forbidden(entry.to) && (rule.types || !entry.typeOnly));
      expect(crossing.map((entry) => `${entry.from} → ${entry.to}`)).toEqual([]);
    });
  }

  test("views are rendered by routes only", () => {
    const outside = IMPORTS.filter((entry) => under("views")(entry.to) && !under("views")(entry.from) && !isRoute(entry.from) && !entry.typeOnly);
    expect(outside.map((entry) => `${entry.from} → ${entry.to}`)).toEqual([]);
  });
});
