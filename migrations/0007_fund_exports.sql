PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_export_jobs` (
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
	`agency_id` integer,
	`year` integer NOT NULL,
	`agency_ids` text,
	`training_types` text NOT NULL,
	`extra_email` text,
	`format` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`row_count` integer,
	`file_path` text,
	`file_size` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`agency_id`) REFERENCES `agencies`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
INSERT INTO `__new_export_jobs`("id", "user_id", "progress_done", "progress_total", "attempts", "lease_until", "next_attempt_at", "error", "created_at", "started_at", "finished_at", "agency_id", "year", "agency_ids", "training_types", "extra_email", "format", "status", "row_count", "file_path", "file_size") SELECT "id", "user_id", "progress_done", "progress_total", "attempts", "lease_until", "next_attempt_at", "error", "created_at", "started_at", "finished_at", "agency_id", "year", NULL, "training_types", "extra_email", "format", "status", "row_count", "file_path", "file_size" FROM `export_jobs`;--> statement-breakpoint
DROP TABLE `export_jobs`;--> statement-breakpoint
ALTER TABLE `__new_export_jobs` RENAME TO `export_jobs`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `export_jobs_agency_idx` ON `export_jobs` (`agency_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `export_jobs_status_idx` ON `export_jobs` (`status`);