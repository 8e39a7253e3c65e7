CREATE TABLE `placement_minimums` (
	`year` integer NOT NULL,
	`training_type` text NOT NULL,
	`percent` integer NOT NULL,
	PRIMARY KEY(`year`, `training_type`),
	FOREIGN KEY (`year`) REFERENCES `campaigns`(`year`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`training_type`) REFERENCES `training_types`(`code`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
DROP INDEX `enrollments_dashboard_idx`;--> statement-breakpoint
CREATE INDEX `enrollments_dashboard_idx` ON `enrollments` (`agency_id`,`year`,`project_id`,`homogeneous`,`fascia_debole`,`placed`,`hire_date`);