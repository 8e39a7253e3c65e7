import { html } from "hono/html";
import type { PropsWithChildren } from "hono/jsx";
import { APP_JS_URL, CSS_URL, FAVICON_URL, HTMX_URL } from "../src/assets.ts";
import type { Role } from "../src/db/schema.ts";
import type { PageContext, Section } from "./context.ts";
import { PostButton } from "./partials/forms.tsx";

/** What each role is called, in the header and in the administration pages alike. */
export const ROLE_NAMES: Record<Role, string> = {
  rpa: "Responsabile Politiche Attive",
  referent: "Referente",
  operator: "Operatore ApL",
  fund_operator: "Operatore Fondo",
};

function NavLink(props: { href: string; section: Section; current?: Section; label: string }) {
  return (
    <a href={props.href} aria-current={props.section === props.current ? "page" : undefined}>
      {props.label}
    </a>
  );
}

export function Layout(props: PropsWithChildren<{ ctx: PageContext }>) {
  const { ctx } = props;
  return html`<!DOCTYPE html>${(
    <html lang="it">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content='{"includeIndicatorCSS":false}' />
        <title>{ctx.title} · Placement</title>
        <link rel="icon" href={FAVICON_URL} type="image/svg+xml" />
        <link rel="stylesheet" href={CSS_URL} />
        <script src={HTMX_URL} defer></script>
        <script src={APP_JS_URL} defer></script>
      </head>
      <body hx-headers:inherited={JSON.stringify({ "X-CSRF-Token": ctx.csrfToken })}>
        {ctx.user && (
          <header class="top">
            <a class="brand" href="/">
              Placement
            </a>
            <nav>
              {!ctx.user.isFund && <NavLink href="/progetti" section="progetti" current={ctx.section} label="Progetti" />}
              {ctx.user.canPlacement && (
                <NavLink href="/placement" section="placement" current={ctx.section} label="Placement" />
              )}
              {ctx.user.managesUsers && <NavLink href="/utenti" section="utenti" current={ctx.section} label="Utenti" />}
              {ctx.user.isFund && <NavLink href="/fondo" section="fondo" current={ctx.section} label="Agenzie" />}
              {ctx.user.isFund && <NavLink href="/fondo/posta" section="posta" current={ctx.section} label="Posta" />}
              {ctx.user.isFund && <NavLink href="/fondo/registro" section="registro" current={ctx.section} label="Registro" />}
              {ctx.user.isFund && (
                <NavLink href="/amministrazione/agenzie" section="admin" current={ctx.section} label="Amministrazione" />
              )}
            </nav>
            <div class="who">
              <span>
                {ctx.agencyName ?? "Fondo"} · {ctx.user.name} ({ROLE_NAMES[ctx.user.role]})
              </span>
              <a href="/profilo">Profilo</a>
              <PostButton action="/logout" csrfToken={ctx.csrfToken}>
                Esci
              </PostButton>
            </div>
          </header>
        )}
        <main>{props.children}</main>
      </body>
    </html>
  )}`;
}
