import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig, parseFlags, unknownFlags } from "../../src/config.ts";

describe("configuration", () => {
  test("defaults need nothing set", () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.HOST).toBe("127.0.0.1");
    expect(config.BASE_URL).toBe("http://localhost:3000");
    expect(config.DEMO).toBe(false);
    expect(config.UPLOAD_MAX_MB).toBe(20);
    expect(config.SMTP_URL).toBe("");
  });

  test("the data key is refused as a flag, which any user could read in the process list", () => {
    const { flags } = parseFlags(["serve", "--data-key", "c2VncmV0bw=="]);
    expect(() => loadConfig({}, flags)).toThrow("--data-key would show the key to anyone listing processes: give it with DATA_KEY_FILE");
    expect(loadConfig({ DATA_KEY: "x" }).DATA_KEY).toBe("x");
  });

  test("flags win over environment variables", () => {
    const { flags } = parseFlags(["serve", "--port", "4000", "--demo", "--base-url=https://p.example.org/"]);
    const config = loadConfig({ PORT: "5000", DEMO: "0" }, flags);
    expect(config.PORT).toBe(4000);
    expect(config.DEMO).toBe(true);
    expect(config.BASE_URL).toBe("https://p.example.org");
  });

  test.each([
    [{ PORT: "abc" }, "PORT must be a whole number"],
    [{ PORT: "70000" }, "PORT must be between 1 and 65535"],
    [{ DEMO: "maybe" }, "DEMO must be 1 or 0"],
    [{ BASE_URL: "ftp://x" }, "BASE_URL"],
    [{ SMTP_URL: "mail.example.org" }, "SMTP_URL"],
    [{ QUEUE_CRON: "every minute" }, "QUEUE_CRON must be a cron expression"],
    [{ UPLOAD_MAX_MB: "0" }, "UPLOAD_MAX_MB must be between 1 and 1024"],
  ])("%p is refused with one line naming the variable", (env, message) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain("\n");
  });

  test("a bad flag is named as the flag", () => {
    expect(() => loadConfig({}, { "--port": "x" })).toThrow("--port must be a whole number");
  });

  test("unknown flags are reported", () => {
    const { flags, positionals } = parseFlags(["serve", "--prot", "3000", "--demo"]);
    expect(positionals).toEqual(["serve"]);
    expect(unknownFlags(flags)).toEqual(["--prot"]);
  });
});
