// DOM helpers. Safety rule for the whole page: no server data ever goes through innerHTML.
// Everything is built with createElement/textContent, so Slack-escaped text (&amp; &lt; &gt;) is
// decoded into text nodes only, and `<script>` in a message can never become markup.

export type Child = Node | string | number | null | undefined | false | readonly Child[];

/** Any event listener; declared as a method so that a listener of a narrower event (MouseEvent) fits. */
type Listener = { bivariant(event: Event): unknown }['bivariant'];

/** Attributes; `on…` keys are listeners, `class` and `text` set className and textContent; null, undefined and false are left out. */
export interface Attrs {
  [key: string]: string | number | boolean | null | undefined | Listener;
  onclick?: (event: MouseEvent) => unknown;
  onmousedown?: (event: MouseEvent) => unknown;
}

/** createElement with attributes and children; strings become text nodes (never markup). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = String(value);
      else if (key === 'text') el.textContent = String(value);
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append<T extends ParentNode>(el: T, children: readonly Child[]): T {
  for (const child of flatten(children)) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

function* flatten(children: readonly Child[]): Generator<Node | string | number> {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) yield* flatten(child as readonly Child[]);
    else yield child as Node | string | number;
  }
}

/** An element of index.html, by id; it is a bug in the page when it is not there. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}
