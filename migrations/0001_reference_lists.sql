-- Seed defaults of the reference lists (SPEC §3); the fund may edit them afterwards.
INSERT INTO training_types (code, description, sort_order) VALUES
  ('BASE', 'Formazione di base', 1),
  ('PROF', 'Formazione professionale', 2),
  ('OTJ', 'Formazione on the job', 3),
  ('CONT', 'Formazione continua', 4),
  ('QUAL', 'Qualificazione professionale', 5),
  ('RIQ', 'Riqualificazione professionale', 6);
--> statement-breakpoint
INSERT INTO vulnerable_categories (code, description, sort_order) VALUES
  ('DIS6M', 'Senza impiego regolarmente retribuito da almeno 6 mesi', 1),
  ('GIOV', 'Età compresa tra 15 e 24 anni', 2),
  ('NODIP', 'Privo di diploma di scuola media superiore o professionale (ISCED 3)', 3),
  ('OVER50', 'Età pari o superiore a 50 anni', 4),
  ('ADSOLO', 'Adulto che vive solo con una o più persone a carico', 5),
  ('GENERE', 'Occupato in settore o professione con disparità di genere di almeno il 25%', 6),
  ('MINETN', 'Appartenente a una minoranza etnica', 7),
  ('MOLTOSV', 'Molto svantaggiato: senza impiego regolarmente retribuito da almeno 24 mesi', 8),
  ('DISAB', 'Persona con disabilità (L. 68/1999)', 9);
--> statement-breakpoint
INSERT INTO contract_types (code, description, sort_order) VALUES
  ('STD', 'Somministrazione a tempo determinato', 1),
  ('STI', 'Somministrazione a tempo indeterminato', 2),
  ('DTD', 'Assunzione diretta a tempo determinato', 3),
  ('DTI', 'Assunzione diretta a tempo indeterminato', 4),
  ('APP', 'Apprendistato', 5);
