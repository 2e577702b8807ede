// PipelineEventsPort on SQS: the queue an EventBridge rule fills with CodePipeline state changes
// (templates/lanebot-pipeline-events.yaml), read by the shared event queue reader.
import { parsePipelineExecutionChange, type PipelineEventsPort, type PipelineExecutionChange } from '../pipeline-events.port';
import { SqsEventQueue, type SqsEventQueueOptions } from './sqs-event-queue';

export class SqsPipelineEventsAdapter extends SqsEventQueue<PipelineExecutionChange> implements PipelineEventsPort {
  constructor(options: SqsEventQueueOptions) {
    super(options, parsePipelineExecutionChange);
  }
}
