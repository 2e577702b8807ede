// observeCloudCalls: every port method call is told, with its arguments and result, and still
// answered; the simulator's controls pass through untouched.
import type { CloudPorts } from '../../../src/cloud/cloud';
import { observeCloudCalls, type CloudCall } from '../../../src/cloud/observe-cloud';

describe('observeCloudCalls', () => {
  it('tells each port call and answers it as the port does; leaves properties and the sim controls alone', async () => {
    const controls = { advance: jest.fn() };
    const cloud = {
      ecs: { region: 'eu-west-1', describeService: async (cluster: string, name: string) => ({ serviceName: `${cluster}/${name}` }) },
      stacks: { describeStack: async () => undefined },
      sim: controls,
    } as unknown as CloudPorts;
    const calls: CloudCall[] = [];
    const observed = observeCloudCalls(cloud, (call) => calls.push(call));

    await expect(observed.ecs.describeService('dev', 'api')).resolves.toEqual({ serviceName: 'dev/api' });
    await expect(observed.stacks.describeStack('app-x')).resolves.toBeUndefined();
    expect((observed.ecs as unknown as { region: string }).region).toBe('eu-west-1');
    expect((observed as unknown as { sim: unknown }).sim).toBe(controls);
    expect(calls.map(({ port, method, args }) => [port, method, args])).toEqual([
      ['ecs', 'describeService', ['dev', 'api']],
      ['stacks', 'describeStack', ['app-x']],
    ]);
    await expect(calls[0]!.result).resolves.toEqual({ serviceName: 'dev/api' });
  });
});
