CREATE TABLE `reminders` (
	`year` integer NOT NULL,
	`agency_id` integer NOT NULL,
	`deadline` text NOT NULL,
	`days` integer NOT NULL,
	`outcome` text NOT NULL,
	`decided_at` integer NOT NULL,
	PRIMARY KEY(`year`, `agency_id`, `deadline`, `days`),
	FOREIGN KEY (`year`) REFERENCES `campaigns`(`year`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`agency_id`) REFERENCES `agencies`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
ALTER TABLE `campaigns` ADD `reminder_days` text DEFAULT '[14,7,2]' NOT NULL;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `reminders_on` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `incomplete_list_sent_at` integer;--> statement-breakpoint
-- Campaigns already past when reminders came: their list of incomplete agencies is not sent now.
UPDATE `campaigns` SET `incomplete_list_sent_at` = unixepoch('subsec') * 1000 WHERE `deadline` < date('now');