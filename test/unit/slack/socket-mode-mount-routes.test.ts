// In Socket Mode, Bolt's own HTTP server serves lanebot's extra routes as custom routes, matched
// with path-to-regexp's `match`. The mounted prefix must reach the handler for itself and
// everything below it, as it does in HTTP mode, and nothing beside it.
import { createRequire } from 'node:module';
import { socketModeMountRoutes } from '../../../src/slack/slack-app';

/** path-to-regexp as Bolt loads it (Bolt's own dependency, whatever version that is). */
const { match } = createRequire(require.resolve('@slack/bolt'))('path-to-regexp') as typeof import('path-to-regexp');

describe('socketModeMountRoutes', () => {
  const handler = () => undefined;
  const [route] = socketModeMountRoutes({ '/admin/queues': handler });

  it('is one route per mount, for every method (the handler refuses what it does not take)', () => {
    expect(route).toMatchObject({ handler });
    expect(route!.method).toEqual(expect.arrayContaining(['GET', 'HEAD', 'POST', 'PUT', 'DELETE']));
  });

  it.each([
    ['/admin/queues', true],
    ['/admin/queues/', true],
    ['/admin/queues/api/queues', true],
    ['/admin/queues/static/js/main.f10757109b.js', true],
    ['/admin/queues/queue/operations/request-123', true],
    ['/admin/queuesX', false],
    ['/admin', false],
    ['/healthz', false],
  ])('%s matched: %s', (path, matched) => {
    expect(Boolean(match(route!.path, { decode: decodeURIComponent })(path))).toBe(matched);
  });
});
