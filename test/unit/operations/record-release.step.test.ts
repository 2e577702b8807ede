// The record-release step on its own: where it takes the lane's image from, and what it records.
import pino from 'pino';
import type { CloudPorts } from '../../../src/cloud/cloud';
import type { ImageCheck } from '../../../src/cloud/image-registry.port';
import type { StackView } from '../../../src/cloud/stacks.port';
import type { HealthVerdict, OperationRecord } from '../../../src/domain/operation';
import { AwsThrottledError } from '../../../src/errors';
import type { StepDeps } from '../../../src/operations/step';
import { recordReleaseStep } from '../../../src/operations/steps/record-release.step';
import type { LaneRelease } from '../../../src/state/lane-registry';
import { deployRecord, T0 } from '../../support/fixtures';

const TAGGED = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/user-api:1.2.3';
const PINNED = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/user-api@sha256:${'a'.repeat(64)}`;
const OLD = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/user-api@sha256:${'b'.repeat(64)}`;

function healthy(image?: string): HealthVerdict {
  return { verdict: 'healthy', summary: 'ok', reasons: [], links: [], checkedAt: T0, ...(image ? { image } : {}) };
}

function setup(options: { stackImage?: string; stackFault?: Error } = {}) {
  const calls: string[] = [];
  const recorded: LaneRelease[] = [];
  const stack: StackView = { stackName: 'app-user-api-dev-gray', stackId: 'id', status: 'UPDATE_COMPLETE', parameters: {}, outputs: options.stackImage ? { ImageUri: options.stackImage } : {}, tags: {} };
  const cloud = {
    stacks: {
      describeStack: async (name: string) => {
        calls.push(`describeStack ${name}`);
        if (options.stackFault) throw options.stackFault;
        return stack;
      },
    },
    images: {
      imageExists: async (uri: string): Promise<ImageCheck> => {
        calls.push(`imageExists ${uri}`);
        return { kind: 'exists', digest: `sha256:${'a'.repeat(64)}`, pinnedUri: PINNED };
      },
    },
  };
  const deps = {
    cloud: cloud as unknown as CloudPorts,
    lanes: {
      currentImage: async () => OLD,
      recordRelease: async (_ref: unknown, release: LaneRelease) => void recorded.push(release),
    } as unknown as StepDeps['lanes'],
    clock: { now: () => T0 + 1000 },
    logger: pino({ level: 'silent' }),
    pollIntervalMs: 1000,
  } as unknown as StepDeps;
  return { deps, calls, recorded };
}

const op = (health?: HealthVerdict): OperationRecord => deployRecord({ status: 'running', step: 2, ...(health ? { health } : {}) });

describe('record-release', () => {
  it('takes the image the health check read from the lane stack, without reading the stack again', async () => {
    const { deps, calls, recorded } = setup({ stackImage: 'not-read' });
    expect(await recordReleaseStep.run(op(healthy(TAGGED)), deps)).toEqual({ kind: 'next' });
    expect(calls).toEqual([`imageExists ${TAGGED}`]);
    expect(recorded).toEqual([
      { operationId: op().id, kind: 'deploy', branch: 'release/1.2.3', image: PINNED, by: 'U1', at: T0 + 1000, health: 'healthy', replaced: OLD },
    ]);
  });

  it('reads the lane stack when the check did not (it could not read it, or there was none)', async () => {
    const { deps, calls, recorded } = setup({ stackImage: PINNED });
    await recordReleaseStep.run(op(healthy()), deps);
    await recordReleaseStep.run(op(), deps);
    // Already pinned by its digest: no registry call.
    expect(calls).toEqual(['describeStack app-user-api-dev-gray', 'describeStack app-user-api-dev-gray']);
    expect(recorded.map((r) => [r.image, r.health])).toEqual([
      [PINNED, 'healthy'],
      [PINNED, undefined],
    ]);
  });

  it('waits throttling out, and records the release without its image after any other fault', async () => {
    const throttled = setup({ stackFault: new AwsThrottledError('cloudformation:DescribeStacks') });
    expect(await recordReleaseStep.run(op(), throttled.deps)).toMatchObject({ kind: 'wait', inMs: 1000 });
    expect(throttled.recorded).toEqual([]);

    const failing = setup({ stackFault: new Error('socket hang up') });
    expect(await recordReleaseStep.run(op(), failing.deps)).toEqual({ kind: 'next' });
    expect(failing.recorded).toEqual([expect.not.objectContaining({ image: expect.anything() })]);
  });

  it('records nothing when ECS rolled the change back (the lane still runs its previous release)', async () => {
    const { deps, calls, recorded } = setup();
    await recordReleaseStep.run(op({ ...healthy(TAGGED), verdict: 'unhealthy', rolloutFailed: true }), deps);
    expect(calls).toEqual([]);
    expect(recorded).toEqual([]);
  });
});
