import type { PageContext } from "../context.ts";
import type { listOutbox } from "../../src/mail/outbox.ts";
import { formatDateTime } from "../../src/format.ts";
import { Layout } from "../layout.tsx";
import { PostButton, PostForm } from "../partials/forms.tsx";
import { TableHead } from "../partials/table-head.tsx";

const STATUS = {
  pending: <span class="badge warn">in attesa</span>,
  sending: <span class="badge warn">in invio</span>,
  sent: <span class="badge ok">inviato</span>,
  failed: <span class="badge ko">non inviato</span>,
};

export function OutboxPage(props: {
  ctx: PageContext;
  messages: ReturnType<typeof listOutbox>;
  filesDir: string | null;
  test?: { to: string; result: { ok: true } | { ok: false; error: string } | null; error?: string };
}) {
  return (
    <Layout ctx={props.ctx}>
      <h1>Posta in uscita</h1>
      {props.filesDir ? (
        <p class="notice info">
          Nessun server SMTP configurato: i messaggi sono scritti come file .eml in <code>{props.filesDir}</code> e si
          aprono da qui. Per inviarli davvero, imposta SMTP_URL e riavvia il programma.
        </p>
      ) : (
        <p class="subtitle">I messaggi vengono inviati tramite il server SMTP configurato; quelli non riusciti sono ritentati.</p>
      )}
      <PostForm class="card stacked" action="/fondo/posta/prova" csrfToken={props.ctx.csrfToken} submit="Invia messaggio di prova">
        <h2>Prova la configurazione</h2>
        {props.test?.result?.ok === true && (
          <p class="notice info" role="status">
            Messaggio di prova inviato a {props.test.to}.
          </p>
        )}
        {props.test?.result?.ok === false && (
          <p class="notice error" role="alert">
            Invio non riuscito: {props.test.result.error}. Controlla SMTP_URL e MAIL_FROM, poi riprova.
          </p>
        )}
        <label>
          Indirizzo a cui inviare un messaggio di prova
          <input type="email" name="indirizzo" required value={props.test?.to ?? ""} />
          {props.test?.error && (
            <span class="field-error" role="alert">
              {props.test.error}
            </span>
          )}
        </label>
      </PostForm>
      {props.messages.length === 0 ? (
        <p class="notice info">Nessun messaggio.</p>
      ) : (
        <table>
          <TableHead headings={[{ num: "N." }, "Creato", "Destinatari", "Oggetto", "Stato", { num: "Tentativi" }, "Ultimo errore"]} />
          <tbody>
            {props.messages.map((m) => (
              <tr>
                <td class="num">{m.id}</td>
                <td>{formatDateTime(m.createdAt)}</td>
                <td>{m.recipients.join(", ")}</td>
                <td>
                  {props.filesDir && m.status === "sent" ? <a href={`/fondo/posta/${m.id}.eml`}>{m.subject}</a> : m.subject}
                </td>
                <td>{STATUS[m.status]}</td>
                <td class="num">{m.attempts}</td>
                <td class="muted">
                  {m.lastError ?? ""}
                  {m.status === "failed" && (
                    <PostButton action={`/fondo/posta/${m.id}/rinvia`} csrfToken={props.ctx.csrfToken}>
                      Rinvia
                    </PostButton>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}
