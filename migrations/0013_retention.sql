ALTER TABLE `campaigns` ADD `retention_years` integer;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `anonymised_at` integer;--> statement-breakpoint
ALTER TABLE `mail_outbox` ADD `year` integer;