CREATE TABLE `master_data_jobs` (
	`id` integer PRIMARY KEY NOT NULL,
	`user_id` integer NOT NULL,
	`progress_done` integer DEFAULT 0 NOT NULL,
	`progress_total` integer DEFAULT 0 NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`lease_until` integer,
	`next_attempt_at` integer,
	`error` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`file_name` text NOT NULL,
	`file_path` text NOT NULL,
	`file_sha256` text NOT NULL,
	`file_format` text NOT NULL,
	`file_size` integer NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`rows_total` integer,
	`rows_ok` integer,
	`rows_ko` integer,
	`rows_unchanged` integer,
	`outcome_path` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `master_data_jobs_status_idx` ON `master_data_jobs` (`status`);