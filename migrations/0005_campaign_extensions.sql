CREATE TABLE `campaign_extensions` (
	`id` integer PRIMARY KEY NOT NULL,
	`year` integer NOT NULL,
	`agency_id` integer NOT NULL,
	`deadline` text NOT NULL,
	`reason` text NOT NULL,
	`granted_by_user_id` integer,
	`granted_at` integer NOT NULL,
	FOREIGN KEY (`year`) REFERENCES `campaigns`(`year`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`agency_id`) REFERENCES `agencies`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`granted_by_user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `campaign_extensions_year_agency_idx` ON `campaign_extensions` (`year`,`agency_id`);