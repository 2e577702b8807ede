// The confirm dialog a button with `confirm` opens first, as Slack does.
import type { ConfirmationDialog } from '@slack/web-api';
import { byId } from './dom';
import { emojify } from './mrkdwn';
import { plainText, textObject } from './text-object';

/** Resolves true when the person confirms; false on deny, Escape or a click beside the dialog. */
export function confirmDialog(confirm: ConfirmationDialog): Promise<boolean> {
  const modal = byId('modal');
  const title = byId('modal-title');
  const text = byId('modal-text');
  const ok = byId<HTMLButtonElement>('modal-confirm');
  const deny = byId<HTMLButtonElement>('modal-deny');
  title.textContent = plainText(confirm.title) || 'Are you sure?';
  text.replaceChildren(textObject(confirm.text) ?? document.createTextNode(''));
  ok.replaceChildren(...emojify(plainText(confirm.confirm) || 'Yes'));
  deny.replaceChildren(...emojify(plainText(confirm.deny) || 'Cancel'));
  ok.className = `btn ${confirm.style === 'danger' ? 'btn-danger' : 'btn-primary'}`;
  const previousFocus = document.activeElement;
  modal.hidden = false;
  ok.focus();
  return new Promise((resolve) => {
    const done = (answer: boolean): void => {
      modal.hidden = true;
      ok.removeEventListener('click', onOk);
      deny.removeEventListener('click', onDeny);
      modal.removeEventListener('click', onBackdrop);
      document.removeEventListener('keydown', onKey, true);
      if (previousFocus instanceof HTMLElement) previousFocus.focus();
      resolve(answer);
    };
    const onOk = (): void => done(true);
    const onDeny = (): void => done(false);
    const onBackdrop = (event: MouseEvent): void => { if (event.target === modal) done(false); };
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Escape') { event.stopPropagation(); done(false); }
    };
    ok.addEventListener('click', onOk);
    deny.addEventListener('click', onDeny);
    modal.addEventListener('click', onBackdrop);
    document.addEventListener('keydown', onKey, true);
  });
}
