/** One line per event: time, level, message, then key=value fields. */
export type Logger = {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
};

const formatValue = (v: unknown) => {
  const text = v instanceof Error ? v.message : typeof v === "string" ? v : JSON.stringify(v);
  return /[\s"=]/.test(text) ? JSON.stringify(text) : text;
};

export function createLogger(write: (line: string) => void = (line) => process.stderr.write(line + "\n")): Logger {
  const emit = (level: string) => (message: string, fields: Record<string, unknown> = {}) => {
    const parts = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${formatValue(v)}`);
    write([new Date().toISOString(), level, message, ...parts].join(" "));
  };
  return { info: emit("INFO"), warn: emit("WARN"), error: emit("ERROR") };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
