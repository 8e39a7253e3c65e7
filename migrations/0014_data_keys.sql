CREATE TABLE `data_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`first_used_at` integer NOT NULL
);
