import type { Role } from "../src/db/schema.ts";

export type Section = "progetti" | "placement" | "utenti" | "fondo" | "posta" | "registro" | "admin";

/** What the layout needs to know about the request. */
export type PageContext = {
  title: string;
  section?: Section;
  csrfToken: string;
  user: { name: string; email: string; role: Role; canPlacement: boolean; isFund: boolean; managesUsers: boolean } | null;
  agencyName: string | null;
};
