import type { PageContext } from "../context.ts";
import { Layout } from "../layout.tsx";

export function ErrorPage(props: { ctx: PageContext; status: number; message: string }) {
  return (
    <Layout ctx={props.ctx}>
      <ErrorNotice status={props.status} message={props.message} />
      <p>
        <a href="/">Torna alla pagina iniziale</a>
      </p>
    </Layout>
  );
}

/** The fragment htmx swaps in when a request fails. */
export function ErrorNotice(props: { status: number; message: string }) {
  return (
    <div class="notice error" role="alert">
      <strong>Errore {props.status}.</strong> {props.message}
    </div>
  );
}
