CREATE TABLE `enrollment_changes` (
	`id` integer PRIMARY KEY NOT NULL,
	`enrollment_id` integer NOT NULL,
	`revision` integer NOT NULL,
	`at` integer NOT NULL,
	`user_id` integer,
	`source` text NOT NULL,
	`import_job_id` integer,
	`master_data_job_id` integer,
	`field` text NOT NULL,
	`old_value` text,
	`new_value` text,
	FOREIGN KEY (`enrollment_id`) REFERENCES `enrollments`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`import_job_id`) REFERENCES `import_jobs`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`master_data_job_id`) REFERENCES `master_data_jobs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `enrollment_changes_enrollment_idx` ON `enrollment_changes` (`enrollment_id`,`revision`);--> statement-breakpoint
ALTER TABLE `enrollments` ADD `revision` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `sheet_name` text;--> statement-breakpoint
ALTER TABLE `master_data_jobs` ADD `sheet_name` text;