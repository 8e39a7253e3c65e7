import type { Db } from "../db/client.ts";

type Series = Map<string, number>;

const labels = (values: Record<string, string>) =>
  `{${Object.entries(values)
    .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`)
    .join(",")}}`;

/** Counters kept in memory since start, read as Prometheus text at /metrics. */
export class Metrics {
  private requests: Series = new Map();
  private requestSeconds = { sum: 0, count: 0 };
  private jobRuns: Series = new Map();
  private jobSeconds: Series = new Map();

  observeRequest(method: string, status: number, seconds: number): void {
    const key = labels({ method, status: `${Math.floor(status / 100)}xx` });
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    this.requestSeconds.sum += seconds;
    this.requestSeconds.count++;
  }

  /** One run of a queued job: `outcome` is done, retry or failed. */
  observeJob(job: string, outcome: string, seconds: number): void {
    const key = labels({ job, outcome });
    this.jobRuns.set(key, (this.jobRuns.get(key) ?? 0) + 1);
    this.jobSeconds.set(labels({ job }), (this.jobSeconds.get(labels({ job })) ?? 0) + seconds);
  }

  render(db: Db, freeBytes: number | null): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string, series: Iterable<[string, number]>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [key, value] of series) lines.push(`${name}${key} ${value}`);
    };
    family("placement_http_requests_total", "counter", "HTTP requests by method and status class.", this.requests);
    family("placement_http_request_duration_seconds_sum", "counter", "Time spent answering requests.", [["", this.requestSeconds.sum]]);
    family("placement_http_request_duration_seconds_count", "counter", "Requests timed.", [["", this.requestSeconds.count]]);
    family("placement_job_runs_total", "counter", "Runs of queued jobs by outcome.", this.jobRuns);
    family("placement_job_duration_seconds_total", "counter", "Time spent running queued jobs.", this.jobSeconds);
    const depth = (table: string) =>
      (db.$client.query(`SELECT count(*) AS n FROM ${table} WHERE status IN ('queued', 'running')`).get() as { n: number }).n;
    family("placement_queue_depth", "gauge", "Jobs queued or running.", [
      [labels({ queue: "exports" }), depth("export_jobs")],
      [labels({ queue: "imports" }), depth("import_jobs")],
    ]);
    const pending = (db.$client.query("SELECT count(*) AS n FROM mail_outbox WHERE status IN ('pending', 'sending')").get() as { n: number }).n;
    family("placement_outbox_pending", "gauge", "Messages waiting to be sent.", [["", pending]]);
    if (freeBytes !== null) family("placement_data_dir_free_bytes", "gauge", "Free space in DATA_DIR.", [["", freeBytes]]);
    return `${lines.join("\n")}\n`;
  }
}
