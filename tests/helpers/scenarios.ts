// Access checks as tables, in the style of PocketBase's ApiScenario: who asks, what, and
// the status they must get; a refused POST must leave every business table as it was.
import { describe, expect, test } from "bun:test";
import { rowsInOrder } from "./flows.ts";
import type { TestApp, TestClient } from "./test-app.ts";

export type Scenario<Who extends string> = {
  as: Who | "anonymous";
  method: "GET" | "POST";
  path: string;
  status: number;
  /** Asked as htmx asks (the HX-Request header). */
  htmx?: boolean;
  /** Where a redirect must point (its start). */
  location?: string;
  /** Text the answer must not hold, such as another agency's code. */
  absent?: string;
  form?: Record<string, string>;
};

// Sessions, sign-in throttling and the audit log change on every request by design.
const VOLATILE = new Set(["sessions", "login_throttle", "audit_log", "__drizzle_migrations"]);

/** Every row of every business table: what a refused request must not change. */
export function snapshot(t: TestApp): string {
  const tables = t.db.$client.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
  return JSON.stringify(tables.filter((table) => !VOLATILE.has(table.name)).map((table) => [table.name, rowsInOrder(t.db.$client, table.name)]));
}

/**
 * One test per scenario. `people` maps each name used in `as` to an e-mail; each person
 * signs in once, from an address of their own so that sign-in throttling never interferes.
 */
export function scenarios<Who extends string>(title: string, t: TestApp, people: Record<Who, string>, table: Scenario<Who>[]): void {
  const clients = new Map<string, Promise<TestClient>>();
  const clientOf = (who: Who | "anonymous") => {
    if (!clients.has(who)) {
      const client = t.client(`198.51.100.${clients.size + 1}`);
      // The password page carries the session's form token for everyone signed in.
      const ready = who === "anonymous" ? client.get("/login") : client.login(people[who as Who]).then(() => client.get("/profilo/password"));
      clients.set(who, ready.then(() => client));
    }
    return clients.get(who)!;
  };

  describe(title, () => {
    test.each(table.map((s) => [`${s.as} ${s.method} ${s.path}${s.htmx ? " (htmx)" : ""} → ${s.status}`, s] as const))("%s", async (_, s) => {
      const client = await clientOf(s.as);
      const headers: Record<string, string> = s.htmx ? { "HX-Request": "true" } : {};
      const before = s.method === "POST" ? snapshot(t) : "";
      const response = s.method === "GET" ? await client.get(s.path, headers) : await client.post(s.path, s.form ?? {}, headers);
      const body = await response.text();
      expect(response.status).toBe(s.status);
      if (s.location) expect(response.headers.get(s.htmx ? "HX-Redirect" : "Location") ?? "").toStartWith(s.location);
      if (s.absent) expect(body).not.toContain(s.absent);
      if (s.method === "POST" && s.status >= 300) expect(snapshot(t)).toBe(before);
    });
  });
}
