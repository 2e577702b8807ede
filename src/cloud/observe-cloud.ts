// Every call made at the cloud ports, told to an observer as it is made: the load bench counts
// them per method, and tests check that a path makes none (the composition root's `wrapCloud`
// override takes it). The simulator's own controls (`sim`, beside the ports) are not ports: they
// pass through untouched.
import type { CloudPorts } from './cloud';

export interface CloudCall {
  /** The port, as CloudPorts names it: `pipelines`, `ecs`, … */
  port: string;
  method: string;
  args: unknown[];
  /** What the method returned (a promise, for every port method). */
  result: unknown;
}

export function observeCloudCalls(cloud: CloudPorts, observe: (call: CloudCall) => void): CloudPorts {
  const wrap = <T extends object>(port: string, target: T): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => unknown).apply(object, args);
          observe({ port, method: String(property), args, result });
          return result;
        };
      },
    });
  const observed: Record<string, unknown> = {};
  for (const [name, port] of Object.entries(cloud)) observed[name] = port && typeof port === 'object' && name !== 'sim' ? wrap(name, port as object) : port;
  return observed as unknown as CloudPorts;
}
