import type { PageContext } from "../context.ts";
import type { listProjects } from "../../src/services/projects.ts";
import { Layout } from "../layout.tsx";
import { ProjectsTable } from "../partials/projects-table.tsx";
import { YearPicker } from "../partials/year-picker.tsx";

export function ProjectsPage(props: {
  ctx: PageContext;
  heading: string;
  action: string;
  years: number[];
  year: number;
  projects: ReturnType<typeof listProjects>;
}) {
  const enrollments = props.projects.reduce((sum, p) => sum + p.enrollmentCount, 0);
  return (
    <Layout ctx={props.ctx}>
      <h1>{props.heading}</h1>
      <p class="subtitle">
        Progetti portati in compensazione nel {props.year}: {props.projects.length} progetti, {enrollments} iscrizioni.
      </p>
      {props.years.length > 1 && <YearPicker action={props.action} years={props.years} selected={props.year} />}
      <ProjectsTable projects={props.projects} />
    </Layout>
  );
}
