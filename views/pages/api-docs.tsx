import type { PageContext } from "../context.ts";
import { Layout } from "../layout.tsx";

type Schema = { $ref?: string; type?: string | string[]; format?: string; description?: string; properties?: Record<string, Schema>; required?: string[]; items?: Schema; enum?: unknown[] };
type Operation = {
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string }>;
};
export type ApiDocument = { components?: { schemas?: Record<string, unknown> }; paths: Record<string, object> };

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

function resolve(document: ApiDocument, schema: Schema): Schema {
  const name = schema.$ref?.split("/").at(-1);
  return name ? ((document.components?.schemas?.[name] as Schema | undefined) ?? schema) : schema;
}

function typeOf(schema: Schema): string {
  if (schema.enum) return schema.enum.map(String).join(" | ");
  const type = Array.isArray(schema.type) ? schema.type.join(" | ") : (schema.type ?? "");
  if (type === "array" && schema.items) return `array di ${typeOf(schema.items)}`;
  return schema.format ? `${type} (${schema.format})` : type;
}

/** The API's documentation, drawn from its OpenAPI document so that the two always agree. */
export function ApiDocsPage(props: { ctx: PageContext; document: ApiDocument }) {
  const doc = props.document;
  return (
    <Layout ctx={props.ctx}>
      <h1>Documentazione dell'API</h1>
      <section class="card">
        <p>
          L'API permette ai sistemi della tua agenzia di fare da programma ciò che si fa dalla pagina Placement: prenotare il file da
          compilare, scaricarlo, caricare il file compilato e leggerne l'esito. Valgono le stesse regole: finestre della campagna, limiti,
          coda, e-mail e registro delle attività.
        </p>
        <ul>
          <li>
            <strong>Accesso</strong>: crea un token nella pagina <a href="/profilo#token-api">Profilo</a> e invialo a ogni richiesta
            nell'intestazione <code>Authorization: Bearer &lt;token&gt;</code>. Il token agisce come la tua utenza; smette di valere se
            scade, se lo revochi, se cambi password, se la tua utenza o l'agenzia sono disabilitate o se perdi il permesso Placement.
          </li>
          <li>
            <strong>Ripetere senza doppioni</strong>: nelle richieste POST invia l'intestazione <code>Idempotency-Key</code> con una chiave
            nuova per ogni operazione (per esempio un UUID); ripetendo la richiesta con la stessa chiave entro 24 ore ricevi la stessa risposta.
          </li>
          <li>
            <strong>Limiti</strong>: un numero massimo di richieste al minuto per token (oltre: 429 con <code>Retry-After</code>) e la
            stessa dimensione massima dei file della pagina.
          </li>
          <li>
            <strong>Errori</strong>: in formato <code>application/problem+json</code> (RFC 9457); il campo <code>detail</code> dice in
            italiano che cosa è successo e che cosa fare.
          </li>
          <li>
            Il documento OpenAPI 3.1 è in <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.
          </li>
        </ul>
      </section>
      {Object.entries(doc.paths).flatMap(([path, item]) =>
        METHODS.filter((method) => method in item).map((method) => {
          const op = (item as Record<string, Operation>)[method]!;
          const body = op.requestBody && Object.entries(op.requestBody.content)[0];
          const bodySchema = body && resolve(doc, body[1].schema);
          return (
            <section class="card api-operation">
              <h2>
                <code>
                  {method.toUpperCase()} {path}
                </code>{" "}
                — {op.summary}
              </h2>
              {op.description && <p>{op.description}</p>}
              {op.parameters && op.parameters.length > 0 && (
                <>
                  <h3>Parametri</h3>
                  <ul>
                    {op.parameters.map((p) => (
                      <li>
                        <code>{p.name}</code> ({p.in === "path" ? "nel percorso" : p.in === "query" ? "nella query" : "intestazione"}
                        {p.required ? ", obbligatorio" : ""}){p.description ? `: ${p.description}` : ""}
                      </li>
                    ))}
                  </ul>
                </>
              )}
              {body && bodySchema?.properties && (
                <>
                  <h3>
                    Corpo (<code>{body[0]}</code>)
                  </h3>
                  <ul>
                    {Object.entries(bodySchema.properties).map(([name, field]) => (
                      <li>
                        <code>{name}</code>: {typeOf(field)}
                        {bodySchema.required?.includes(name) ? ", obbligatorio" : ""}
                        {field.description ? ` — ${field.description}` : ""}
                      </li>
                    ))}
                  </ul>
                </>
              )}
              <h3>Risposte</h3>
              <ul>
                {Object.entries(op.responses).map(([status, response]) => (
                  <li>
                    <code>{status}</code>: {response.description}
                  </li>
                ))}
              </ul>
            </section>
          );
        }),
      )}
    </Layout>
  );
}
