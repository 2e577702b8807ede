/** The time source every time-dependent part uses, so tests and the simulator can move it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
