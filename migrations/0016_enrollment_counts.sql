CREATE TABLE `enrollment_counts` (
	`year` integer NOT NULL,
	`agency_id` integer NOT NULL,
	`project_id` integer NOT NULL,
	`homogeneous` integer NOT NULL,
	`fascia` text NOT NULL,
	`enrollments` integer NOT NULL,
	`placed` integer NOT NULL,
	PRIMARY KEY(`year`, `agency_id`, `project_id`, `homogeneous`, `fascia`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `trainee_counts` (
	`year` integer NOT NULL,
	`agency_id` integer NOT NULL,
	`trainees` integer NOT NULL,
	PRIMARY KEY(`year`, `agency_id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `trainee_counts` (`year`, `agency_id`, `trainees`)
SELECT `year`, `agency_id`, count(DISTINCT `participant_id`) FROM `enrollments` GROUP BY 1, 2;
--> statement-breakpoint
INSERT INTO `enrollment_counts` (`year`, `agency_id`, `project_id`, `homogeneous`, `fascia`, `enrollments`, `placed`)
SELECT `year`, `agency_id`, `project_id`, `homogeneous`, coalesce(`fascia_debole`, ''), count(*), sum(`counts_as_placed`)
FROM `enrollments` GROUP BY 1, 2, 3, 4, 5;
--> statement-breakpoint
CREATE TRIGGER `enrollment_counts_insert` AFTER INSERT ON `enrollments` BEGIN
	INSERT INTO `enrollment_counts` (`year`, `agency_id`, `project_id`, `homogeneous`, `fascia`, `enrollments`, `placed`)
	VALUES (new.`year`, new.`agency_id`, new.`project_id`, new.`homogeneous`, coalesce(new.`fascia_debole`, ''), 1, new.`counts_as_placed`)
	ON CONFLICT (`year`, `agency_id`, `project_id`, `homogeneous`, `fascia`)
	DO UPDATE SET `enrollments` = `enrollments` + 1, `placed` = `placed` + excluded.`placed`;
END;
--> statement-breakpoint
CREATE TRIGGER `enrollment_counts_delete` AFTER DELETE ON `enrollments` BEGIN
	UPDATE `enrollment_counts` SET `enrollments` = `enrollments` - 1, `placed` = `placed` - old.`counts_as_placed`
	WHERE `year` = old.`year` AND `agency_id` = old.`agency_id` AND `project_id` = old.`project_id`
	  AND `homogeneous` = old.`homogeneous` AND `fascia` = coalesce(old.`fascia_debole`, '');
END;
--> statement-breakpoint
CREATE TRIGGER `enrollment_counts_update` AFTER UPDATE OF `year`, `agency_id`, `project_id`, `homogeneous`, `fascia_debole`, `counts_as_placed` ON `enrollments`
WHEN old.`year` IS NOT new.`year` OR old.`agency_id` IS NOT new.`agency_id` OR old.`project_id` IS NOT new.`project_id`
  OR old.`homogeneous` IS NOT new.`homogeneous` OR old.`fascia_debole` IS NOT new.`fascia_debole`
  OR old.`counts_as_placed` IS NOT new.`counts_as_placed`
BEGIN
	UPDATE `enrollment_counts` SET `enrollments` = `enrollments` - 1, `placed` = `placed` - old.`counts_as_placed`
	WHERE `year` = old.`year` AND `agency_id` = old.`agency_id` AND `project_id` = old.`project_id`
	  AND `homogeneous` = old.`homogeneous` AND `fascia` = coalesce(old.`fascia_debole`, '');
	INSERT INTO `enrollment_counts` (`year`, `agency_id`, `project_id`, `homogeneous`, `fascia`, `enrollments`, `placed`)
	VALUES (new.`year`, new.`agency_id`, new.`project_id`, new.`homogeneous`, coalesce(new.`fascia_debole`, ''), 1, new.`counts_as_placed`)
	ON CONFLICT (`year`, `agency_id`, `project_id`, `homogeneous`, `fascia`)
	DO UPDATE SET `enrollments` = `enrollments` + 1, `placed` = `placed` + excluded.`placed`;
END;
--> statement-breakpoint
CREATE TRIGGER `trainee_counts_insert` AFTER INSERT ON `enrollments`
WHEN NOT EXISTS (SELECT 1 FROM `enrollments` e WHERE e.`agency_id` = new.`agency_id` AND e.`year` = new.`year`
  AND e.`participant_id` = new.`participant_id` AND e.`id` <> new.`id`)
BEGIN
	INSERT INTO `trainee_counts` (`year`, `agency_id`, `trainees`) VALUES (new.`year`, new.`agency_id`, 1)
	ON CONFLICT (`year`, `agency_id`) DO UPDATE SET `trainees` = `trainees` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `trainee_counts_delete` AFTER DELETE ON `enrollments`
WHEN NOT EXISTS (SELECT 1 FROM `enrollments` e WHERE e.`agency_id` = old.`agency_id` AND e.`year` = old.`year`
  AND e.`participant_id` = old.`participant_id`)
BEGIN
	UPDATE `trainee_counts` SET `trainees` = `trainees` - 1 WHERE `year` = old.`year` AND `agency_id` = old.`agency_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `trainee_counts_update` AFTER UPDATE OF `participant_id`, `agency_id`, `year` ON `enrollments`
WHEN old.`participant_id` IS NOT new.`participant_id` OR old.`agency_id` IS NOT new.`agency_id` OR old.`year` IS NOT new.`year`
BEGIN
	UPDATE `trainee_counts` SET `trainees` = `trainees` - 1 WHERE `year` = old.`year` AND `agency_id` = old.`agency_id`
	  AND NOT EXISTS (SELECT 1 FROM `enrollments` e WHERE e.`agency_id` = old.`agency_id` AND e.`year` = old.`year`
	    AND e.`participant_id` = old.`participant_id`);
	INSERT INTO `trainee_counts` (`year`, `agency_id`, `trainees`) SELECT new.`year`, new.`agency_id`, 1
	  WHERE NOT EXISTS (SELECT 1 FROM `enrollments` e WHERE e.`agency_id` = new.`agency_id` AND e.`year` = new.`year`
	    AND e.`participant_id` = new.`participant_id` AND e.`id` <> new.`id`)
	ON CONFLICT (`year`, `agency_id`) DO UPDATE SET `trainees` = `trainees` + 1;
END;
