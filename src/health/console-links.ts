// Links into the AWS console for what a health verdict or an alarm reply names, built from the ARNs
// and names the lane stack published. Pure: no SDK, no calls.

function regionOfArn(arn: string): string | undefined {
  return /^arn:aws[a-z-]*:[a-z0-9-]+:([a-z0-9-]+):/.exec(arn)?.[1];
}

/** The target group's targets tab. */
export function targetGroupConsoleUrl(targetGroupArn: string): string | undefined {
  const region = regionOfArn(targetGroupArn);
  if (!region) return undefined;
  return `https://${region}.console.aws.amazon.com/ec2/home?region=${region}#TargetGroup:targetGroupArn=${encodeURIComponent(targetGroupArn)}`;
}

/** The ECS service's health tab. */
export function ecsServiceConsoleUrl(region: string | undefined, cluster: string, service: string): string | undefined {
  if (!region) return undefined;
  return `https://${region}.console.aws.amazon.com/ecs/v2/clusters/${encodeURIComponent(cluster)}/services/${encodeURIComponent(service)}/health?region=${region}`;
}

/** The CloudWatch alarm's page. */
export function alarmConsoleUrl(region: string | undefined, alarmName: string): string | undefined {
  if (!region) return undefined;
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#alarmsV2:alarm/${encodeURIComponent(alarmName)}`;
}
