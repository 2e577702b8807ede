// The lanebot.yml every test starts from: two services, dev and a protected prod, two bound channels.
// The health check after a deploy has no soak here (tests move the clock once past a whole pipeline
// run and wait for the final reply); test/integration/deploy-health.test.ts tests the soak.
export const TEST_CONFIG = `
services:
  user-api: {}
  orders: {}
environments:
  dev:
    verify: { soak: 0s }
  prod:
    protected: true
    approvers: [U0APPROVER1]
    verify: { soak: 0s }
channels:
  C0USERAPIDEV: { service: user-api, env: dev }
  C0ORDERSDEV: { service: orders, env: dev }
`;

/** TEST_CONFIG with a short canary in dev: 1-minute steps, 50 requests enough (the simulator sends 6,000/min to default). */
export const CANARY_TEST_CONFIG = TEST_CONFIG.replace('  dev:\n    verify: { soak: 0s }\n', '  dev:\n    verify: { soak: 0s }\n    canary: { interval: 1m, minRequests: 50 }\n');

/** The admin of ADMIN_CONFIG. */
export const TEST_ADMIN = 'U0PLATFORM1';
export const TEST_CONNECTION_ARN = 'arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-1111-2222-3333-444455556666';

/** TEST_CONFIG plus what the admin commands need: an admin, a `setup:` section (extra lines appended to it) and user-api's repo. */
export function adminConfig(extraSetupLines = ''): string {
  return `${TEST_CONFIG.replace('  user-api: {}', '  user-api: { repo: acme/user-api }')}
admins: [${TEST_ADMIN}]
setup:
  connectionArn: ${TEST_CONNECTION_ARN}
  infraRepo: acme/infra-devops
${extraSetupLines}`;
}
