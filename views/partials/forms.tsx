import type { PropsWithChildren } from "hono/jsx";

/** The token a posted form sends back, so that no other site can post it for the user. */
export function CsrfField(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

/**
 * A form that posts, its fields between the token and the submit button. With `section`
 * (a selector) htmx posts it and the answer replaces that section whole, `busy` showing
 * beside the button meanwhile; without JavaScript it posts all the same.
 */
export function PostForm(
  props: PropsWithChildren<{ class: string; action: string; csrfToken: string; submit: string; multipart?: boolean; section?: string; busy?: string }>,
) {
  const enctype = props.multipart ? "multipart/form-data" : undefined;
  const htmx = props.section ? { "hx-post": props.action, "hx-encoding": enctype, "hx-target": props.section, "hx-swap": "outerHTML" } : {};
  return (
    <form class={props.class} method="post" action={props.action} enctype={enctype} {...htmx}>
      <CsrfField token={props.csrfToken} />
      {props.children}
      <div>
        <button type="submit">{props.submit}</button>
        {props.busy && (
          <>
            {" "}
            <span class="htmx-indicator muted">{props.busy}</span>
          </>
        )}
      </div>
    </form>
  );
}

/** One action that posts, shown as a link. */
export function PostButton(props: PropsWithChildren<{ action: string; csrfToken: string }>) {
  return (
    <form method="post" action={props.action}>
      <CsrfField token={props.csrfToken} />
      <button type="submit" class="link">
        {props.children}
      </button>
    </form>
  );
}
