// Kind `lane-thread`: not a change but a thread. A lane's alarms (and later its expiry prompts) go to
// its home thread, the thread of its latest operation. A lane that has none any more (its latest
// operation's record expired after 90 idle days, or its thread was never posted) gets a new root
// message in its channel from one of these records, which then is the lane's home thread. The
// record is created finished: it never takes the lane's slot, never runs, is never audited.
import { simple } from '../../chat/messages';
import type { OperationKindSpec } from '../registry';
import { end } from '../step';

export const laneThreadKind: OperationKindSpec = {
  kind: 'lane-thread',
  admission: 'newest-wins',
  // Never queued, so never run: a record made by mistake of this kind ends at once.
  steps: [{ name: 'nothing-to-run', run: async () => end('succeeded') }],
  view: {
    title: (op) => `*${op.service} · ${op.env} · lane ${op.lane}*`,
    summary: (op) => `${op.service} · ${op.env} · lane ${op.lane}: alarms and notices`,
    target: () => 'alarms and notices of this lane are posted in this thread',
    stageNoun: 'Stage',
    statusLabels: { succeeded: ':bell: alarms and notices of the lane' },
    queuedBehind: () => simple('This thread collects the lane\'s alarms and notices.'),
    superseded: () => simple('This thread collects the lane\'s alarms and notices.'),
    finished: () => simple('This thread collects the lane\'s alarms and notices.'),
  },
};
