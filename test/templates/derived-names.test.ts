// The longest service (40), env (16) and lane (maxLaneLength) the bot accepts keep every AWS name
// the templates build within its limit. Names are computed from the templates themselves.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DERIVED_NAMES, MAX_ENV_LENGTH, MAX_SERVICE_LENGTH, ecsServiceName, laneStackName, maxLaneLength } from '../../src/domain/names';
import { TEMPLATES_DIR, evaluate, loadTemplate, walk, type CfnTemplate } from './support/cfn-template';

function nameOf(length: number, first: string): string {
  return (first + 'abcdefghij0123456789'.repeat(20)).slice(0, length);
}

const service = nameOf(MAX_SERVICE_LENGTH, 's');
const env = nameOf(MAX_ENV_LENGTH, 'e');
const lane = nameOf(maxLaneLength({ service, env }), 'l');
const longestPipelineName = nameOf(100, 'p');
const PARAMS = {
  Env: env,
  ServiceName: service,
  Lane: lane,
  SourceLane: lane,
  ImageUri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:${lane}-0123456789ab`,
  RulePriority: '49999',
  ConnectionArn: 'arn:aws:codestar-connections:us-east-1:123456789012:connection/0000',
  InfraRepo: 'org/infra',
  AppRepo: 'org/app',
};

function value(template: CfnTemplate, logicalId: string, property: string, parameters: Record<string, string> = PARAMS): string {
  return String(evaluate(template, template.Resources[logicalId]!.Properties![property], { parameters }));
}

const lanes = loadTemplate('service-stack.yaml');
const canary = loadTemplate('canary-stack.yaml');
const boot = loadTemplate('boot-stack.yaml');
const infra = loadTemplate('infra-stack.yaml');
const appPipeline = loadTemplate('pipelines/app-pipeline.yaml');
const bootPipeline = loadTemplate('pipelines/boot-pipeline.yaml');
const infraPipeline = loadTemplate('pipelines/infra-pipeline.yaml');
const alarmEvents = loadTemplate('lanebot-alarm-events.yaml');
const longestNamePrefix = { NamePrefix: nameOf(Number(alarmEvents.Parameters!.NamePrefix!.MaxLength), 'n') };
const buildspec = readFileSync(join(TEMPLATES_DIR, 'buildspec.yaml'), 'utf8');

/** What a CodePipeline action's configuration says, with #{variables.X} filled in. */
function action(template: CfnTemplate, stage: string, actionName: string, variables: Record<string, string>, parameters = PARAMS) {
  const stages = evaluate(template, template.Resources.Pipeline!.Properties!.Stages, { parameters }) as any[];
  const found = stages.find((s) => s?.Name === stage)?.Actions.find((a: any) => a.Name === actionName);
  const text = JSON.stringify(found.Configuration).replace(/#\{variables\.(\w+)\}/g, (_m, v: string) => variables[v]!);
  return JSON.parse(text) as Record<string, string>;
}

type Check = [what: string, name: string, limit: number];

const checks: Check[] = [
  ['lane stack name (buildspec)', `app-${service}-${env}-${lane}`, 128],
  ['boot stack name', action(bootPipeline, 'Deploy', 'DeployBootStack', { SERVICE: service }, { ...PARAMS }).StackName!, 128],
  ['environment stack name', action(infraPipeline, 'Deploy', 'DeployInfraStack', {}).StackName!, 128],
  ['app pipeline stack name (default PipelineName)', `pipeline-${value(appPipeline, 'Pipeline', 'Name')}`, 128],
  ['app pipeline stack name (longest PipelineName)', `pipeline-${value(appPipeline, 'Pipeline', 'Name', { ...PARAMS, PipelineName: longestPipelineName })}`, 128],
  ['boot pipeline stack name', `pipeline-boot-${env}`, 128],
  ['infra pipeline stack name', `pipeline-infra-${env}`, 128],
  ['app pipeline name (default)', value(appPipeline, 'Pipeline', 'Name'), 100],
  ['app pipeline name (longest PipelineName)', value(appPipeline, 'Pipeline', 'Name', { ...PARAMS, PipelineName: longestPipelineName }), 100],
  ['boot pipeline name', value(bootPipeline, 'Pipeline', 'Name'), 100],
  ['infra pipeline name', value(infraPipeline, 'Pipeline', 'Name'), 100],
  ['CodeBuild project name (longest PipelineName)', value(appPipeline, 'BuildProject', 'Name', { ...PARAMS, PipelineName: longestPipelineName }), 255],
  ['ECS service name', value(lanes, 'Service', 'ServiceName'), 255],
  ['task definition family', value(lanes, 'TaskDefinition', 'Family'), 255],
  ['5xx alarm name', value(lanes, 'TargetErrorRateAlarm', 'AlarmName'), 255],
  ['unhealthy hosts alarm name', value(lanes, 'UnhealthyHostsAlarm', 'AlarmName'), 255],
  ['running tasks alarm name', value(lanes, 'RunningTasksAlarm', 'AlarmName'), 255],
  ['canary stack name', laneStackName({ service, env, lane: 'canary' }), 128],
  ['canary ECS service name', value(canary, 'Service', 'ServiceName'), 255],
  ['canary task definition family', value(canary, 'TaskDefinition', 'Family'), 255],
  ['canary log stream name', `canary/app/${'0'.repeat(32)}`, 512],
  ['5xx alarm description', value(lanes, 'TargetErrorRateAlarm', 'AlarmDescription'), 1024],
  ['log group name', value(boot, 'LogGroup', 'LogGroupName'), 512],
  // awslogs streams are {prefix}/{container}/{task id}.
  ['log stream name', `${lane}/app/${'0'.repeat(32)}`, 512],
  ['Cloud Map service name (one DNS label)', value(boot, 'CloudMapService', 'Name'), 63],
  ['Cloud Map namespace name', value(infra, 'Namespace', 'Name'), 253],
  ['task security group description', value(boot, 'TaskSecurityGroup', 'GroupDescription'), 255],
  ['image tag (buildspec: {lane}-{12 of the commit})', `${lane}-${'0'.repeat(12)}`, 128],
  // `aws cloudformation deploy` names its change sets awscli-cloudformation-package-deploy-{epoch};
  // lanebot's own are its clientRequestToken (at most 64 characters, see src/cloud/stacks.port.ts).
  ['change set name (aws cloudformation deploy)', `awscli-cloudformation-package-deploy-${'9'.repeat(10)}`, 128],
  ['change set name (lanebot)', `x${'0'.repeat(63)}`, 128],
  ['alarm events queue name (longest NamePrefix)', value(alarmEvents, 'AlarmEventsQueue', 'QueueName', longestNamePrefix), 80],
  ['alarm events dead-letter queue name (longest NamePrefix)', value(alarmEvents, 'AlarmEventsDeadLetterQueue', 'QueueName', longestNamePrefix), 80],
  ['alarm events rule name (longest NamePrefix)', value(alarmEvents, 'AlarmStateChangeRule', 'Name', longestNamePrefix), 64],
];

describe(`the longest names (service ${service.length}, env ${env.length}, lane ${lane.length})`, () => {
  it.each(checks)('%s fits', (_what, name, limit) => {
    expect(name.length).toBeLessThanOrEqual(limit);
    expect(name).not.toMatch(/<|import\(/); // fully computed, no placeholder left
  });

  it('every export name fits 255 characters', () => {
    for (const template of [infra, boot, alarmEvents]) {
      for (const output of Object.values(template.Outputs ?? {})) {
        if (!output.Export) continue;
        expect(String(evaluate(template, output.Export.Name, { parameters: PARAMS })).length).toBeLessThanOrEqual(255);
      }
    }
  });

  it('every tag value fits 256 characters of the tag character set (ECS, ELB and others refuse more)', () => {
    for (const template of [infra, boot, lanes, canary, appPipeline, bootPipeline, infraPipeline]) {
      walk(template.Resources, (node) => {
        if (!('Key' in node && 'Value' in node) || typeof node.Key !== 'string') return;
        const tagValue = evaluate(template, node.Value, { parameters: PARAMS, resourceValue: () => 'x'.repeat(200) });
        expect(String(tagValue).length).toBeLessThanOrEqual(256);
        expect({ key: node.Key, ok: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u.test(String(tagValue)) }).toEqual({ key: node.Key, ok: true });
      });
    }
  });

  it('the buildspec builds the lane stack name and image tag as checked above', () => {
    expect(buildspec).toContain('STACK="app-${SERVICE_NAME}-${APP_ENV}-${LANE}"');
    expect(buildspec).toContain('IMAGE_URI="${ECR_REPOSITORY_URI}:${LANE}-${COMMIT_ID:0:12}"');
    expect(buildspec).toContain('aws cloudformation deploy');
    expect(buildspec).not.toContain('--change-set-name');
  });
});

describe('src/domain/names.ts agrees with the templates', () => {
  const byWhat = new Map(DERIVED_NAMES.map((d) => [d.what, d]));
  const ref = { service, env, lane };

  it('lane stack name and ECS service name', () => {
    expect(laneStackName(ref)).toBe(`app-${service}-${env}-${lane}`);
    expect(ecsServiceName(ref)).toBe(value(lanes, 'Service', 'ServiceName'));
  });

  it('the canary is named as a lane `canary` would be (its stack, ECS service, task family and log streams)', () => {
    const asLane = { service, env, lane: 'canary' };
    expect(ecsServiceName(asLane)).toBe(value(canary, 'Service', 'ServiceName'));
    expect(value(canary, 'TaskDefinition', 'Family')).toBe(ecsServiceName(asLane));
    const logOptions = evaluate(canary, canary.Resources.TaskDefinition!.Properties!.ContainerDefinitions, { parameters: PARAMS }) as {
      LogConfiguration: { Options: Record<string, string> };
    }[];
    expect(logOptions[0]!.LogConfiguration.Options['awslogs-stream-prefix']).toBe('canary');
  });

  it('"listener rule header value" is the widest value of the template’s rule', () => {
    const values = evaluate(lanes, lanes.Resources.LaneListenerRule!.Properties!.Conditions, { parameters: PARAMS }) as {
      HttpHeaderConfig: { Values: string[] };
    }[];
    const widest = values[0]!.HttpHeaderConfig.Values.reduce((a, b) => (b.length > a.length ? b : a));
    expect(byWhat.get('listener rule header value')!.build(ref)).toBe(widest);
    expect(widest.length).toBeLessThanOrEqual(128);
  });

  it('"image tag" is the buildspec’s tag', () => {
    expect(byWhat.get('image tag')!.build(ref)).toBe(`${lane}-${'0'.repeat(12)}`);
  });
});
