// What lanebot needs from an alarm service (CloudWatch): the current state of named alarms, to say
// in a deploy's thread that a lane's 5xx or health alarm fired or cleared. Implemented by the
// CloudWatch adapter (aws/cloudwatch-alarms.adapter.ts) and the simulator (sim/sim-lane-health.ts).

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmView {
  name: string;
  state: AlarmState;
  /** CloudWatch's StateReason, e.g. "Threshold Crossed: 1 datapoint [4.2] was greater than the threshold (1.0)." */
  reason: string;
  /** When the alarm last changed state (epoch milliseconds); reading it again does not move it. */
  updatedAt: number;
  /** The newest datapoint CloudWatch evaluated for this state, when it says (StateReasonData). */
  value?: number;
  threshold?: number;
}

export interface AlarmStates {
  /** The alarms that exist, in the order they were asked for. */
  alarms: AlarmView[];
  /**
   * Names asked for that do not exist: a lane stack without its alarms is worth saying, so they
   * are reported here instead of being dropped silently.
   */
  missing: string[];
}

export interface AlarmsPort {
  /** The state of each named alarm (any number of names; duplicates are answered once). */
  alarmStates(alarmNames: string[]): Promise<AlarmStates>;
  /**
   * Every alarm of the account (and region) in `state`, whoever owns it: one call per 100 alarms in
   * that state, however many alarms exist. What the alarm watch's safety net asks each minute.
   */
  alarmsInState(state: AlarmState): Promise<AlarmView[]>;
}
