/**
 * Small DOM helpers of the sidebar: ``h`` builds an element, ``morph`` makes a
 * live element look like a freshly built one by touching only what differs,
 * and ``syncList`` keeps one live child per key in a list.  A poll that brings
 * nothing new therefore changes no node, and one that does changes only the
 * text or attributes concerned: hover, focus, selection, scroll and the
 * buttons' own state survive.
 */

export type Child = Node | string | null | undefined | false;

export function h(tag: string, attrs: { [key: string]: string } = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') {
      el.className = value;
    } else {
      el.setAttribute(key, value);
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    el.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** Attributes owned by the live node (a button disables itself while its action runs). */
const LIVE_ATTRIBUTES = new Set(['disabled']);

/** Whether ``live`` can be morphed into ``fresh``: same node type and tag, and the same ``data-action``
 * (a kept button keeps its click listener, so it may only become the same action's button). */
function sameKind(live: Node, fresh: Node): boolean {
  if (live.nodeType !== fresh.nodeType || live.nodeName !== fresh.nodeName) {
    return false;
  }
  return live.nodeType !== Node.ELEMENT_NODE || (live as Element).getAttribute('data-action') === (fresh as Element).getAttribute('data-action');
}

/** Set an element's text only when it differs (setting it replaces the text node even when equal). */
export function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) {
    el.textContent = text;
  }
}

/**
 * Make ``live`` equal to ``fresh`` (same tag): attributes set or removed one by
 * one, text nodes rewritten only when their text differs, children morphed in
 * place while their kinds match.  New children come from ``fresh`` with their
 * event listeners; kept children keep theirs.
 */
export function morph(live: Element, fresh: Element): void {
  for (const attr of Array.from(live.attributes)) {
    if (!fresh.hasAttribute(attr.name) && !LIVE_ATTRIBUTES.has(attr.name)) {
      live.removeAttribute(attr.name);
    }
  }
  for (const attr of Array.from(fresh.attributes)) {
    if (live.getAttribute(attr.name) !== attr.value) {
      live.setAttribute(attr.name, attr.value);
    }
  }
  const freshKids = Array.from(fresh.childNodes);
  let i = 0;
  for (; i < freshKids.length; i++) {
    const want = freshKids[i];
    const have = live.childNodes[i];
    if (have && sameKind(have, want)) {
      if (have.nodeType === Node.ELEMENT_NODE) {
        morph(have as Element, want as Element);
      } else if (have.nodeValue !== want.nodeValue) {
        have.nodeValue = want.nodeValue;
      }
    } else if (have) {
      live.replaceChild(want, have);
    } else {
      live.appendChild(want);
    }
  }
  while (live.childNodes.length > i) {
    live.removeChild(live.lastChild!);
  }
}

/**
 * Make the children of ``list`` the rows ``items`` in order, one live row per
 * key (its ``data-key``): a new key's row is built once, a kept key's row is
 * morphed to its fresh rendering, a gone key's row removed.  Rows are moved only
 * when out of order.
 */
export function syncList<T>(list: HTMLElement, items: T[], key: (item: T) => string, render: (item: T) => HTMLElement): void {
  const keys = items.map(key);
  const wanted = new Set(keys);
  const live = new Map<string, HTMLElement>();
  for (const child of Array.from(list.children) as HTMLElement[]) {
    const k = child.dataset.key;
    if (k !== undefined && wanted.has(k) && !live.has(k)) {
      live.set(k, child);
    } else {
      child.remove();   // gone first, so that the rows kept are already in order and stay where they are
    }
  }
  let cursor: ChildNode | null = list.firstChild;
  items.forEach((item, i) => {
    const fresh = render(item);
    fresh.dataset.key = keys[i];
    let row = live.get(keys[i]);
    if (row && row.tagName === fresh.tagName) {
      morph(row, fresh);
    } else {
      if (row) {
        if (row === cursor) {
          cursor = cursor.nextSibling;
        }
        row.remove();
      }
      row = fresh;
    }
    live.delete(keys[i]);   // a repeated key gets a row of its own
    if (row === cursor) {
      cursor = cursor.nextSibling;
    } else {
      list.insertBefore(row, cursor);
    }
  });
}
