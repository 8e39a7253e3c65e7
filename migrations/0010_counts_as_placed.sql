DROP INDEX `enrollments_dashboard_idx`;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `counts_as_placed` integer DEFAULT false NOT NULL;--> statement-breakpoint
UPDATE `enrollments` SET `counts_as_placed` = coalesce(`hire_date` > (SELECT `end_date` FROM `projects` WHERE `projects`.`id` = `enrollments`.`project_id`), 0) WHERE `placed` = 1;--> statement-breakpoint
CREATE INDEX `enrollments_dashboard_idx` ON `enrollments` (`agency_id`,`year`,`project_id`,`homogeneous`,`fascia_debole`,`counts_as_placed`);