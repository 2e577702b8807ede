// AlarmEventsPort on SQS: the queue an EventBridge rule fills with CloudWatch alarm state changes
// (templates/lanebot-alarm-events.yaml), read by the shared event queue reader.
import { parseAlarmStateChange, type AlarmEventsPort, type AlarmStateChange } from '../alarm-events.port';
import { SqsEventQueue, type SqsEventQueueOptions } from './sqs-event-queue';

export class SqsAlarmEventsAdapter extends SqsEventQueue<AlarmStateChange> implements AlarmEventsPort {
  constructor(options: SqsEventQueueOptions) {
    super(options, parseAlarmStateChange);
  }
}
