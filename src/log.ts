/** One line per event: time, level, message and fields, as text or as JSON. */
export type Logger = {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
};

export type LogFormat = "text" | "json";

const formatValue = (v: unknown) => {
  const text = v instanceof Error ? v.message : typeof v === "string" ? v : JSON.stringify(v);
  return /[\s"=]/.test(text) ? JSON.stringify(text) : text;
};

export function createLogger(
  format: LogFormat = "text",
  write: (line: string) => void = (line) => process.stderr.write(line + "\n"),
): Logger {
  const emit = (level: string) => (message: string, fields: Record<string, unknown> = {}) => {
    const present = Object.entries(fields).filter(([, v]) => v !== undefined);
    const time = new Date().toISOString();
    if (format === "json") {
      write(JSON.stringify({ time, level: level.toLowerCase(), message, ...Object.fromEntries(present) }));
      return;
    }
    write([time, level, message, ...present.map(([k, v]) => `${k}=${formatValue(v)}`)].join(" "));
  };
  return { info: emit("INFO"), warn: emit("WARN"), error: emit("ERROR") };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
