// Short notes in the corner: what a control did, or why it failed.
import { byId, h } from './dom';

export type ToastKind = 'info' | 'ok' | 'error';

export function toast(text: string, kind: ToastKind = 'info'): void {
  const el = h('div', { class: `toast toast-${kind}`, 'data-testid': 'toast', role: kind === 'error' ? 'alert' : 'status' },
    h('span', { class: 'toast-icon', 'aria-hidden': 'true' }, kind === 'error' ? '⚠️' : kind === 'ok' ? '✅' : 'ℹ️'),
    h('span', null, text));
  byId('toasts').append(el);
  setTimeout(() => {
    el.classList.add('leaving');
    setTimeout(() => el.remove(), 300);
  }, kind === 'error' ? 6000 : 3500);
}
