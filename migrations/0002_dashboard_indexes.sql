DROP INDEX `enrollments_agency_year_idx`;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `homogeneous` integer DEFAULT false NOT NULL;--> statement-breakpoint
UPDATE `enrollments` SET `homogeneous` = (SELECT `homogeneous` FROM `classes` WHERE `classes`.`id` = `enrollments`.`class_id`);--> statement-breakpoint
CREATE INDEX `enrollments_dashboard_idx` ON `enrollments` (`agency_id`,`year`,`project_id`,`homogeneous`,`fascia_debole`,`placed`);--> statement-breakpoint
CREATE INDEX `enrollments_trainees_idx` ON `enrollments` (`agency_id`,`year`,`participant_id`);