ALTER TABLE `export_jobs` ADD `kind` text DEFAULT 'trainees' NOT NULL;--> statement-breakpoint
UPDATE `export_jobs` SET `kind` = 'consolidated' WHERE `agency_id` IS NULL;