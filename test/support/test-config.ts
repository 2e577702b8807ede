// The lanebot.yml every test starts from: two services, dev and a protected prod, two bound channels.
export const TEST_CONFIG = `
services:
  user-api: {}
  orders: {}
environments:
  dev: {}
  prod:
    protected: true
    approvers: [U0APPROVER1]
channels:
  C0USERAPIDEV: { service: user-api, env: dev }
  C0ORDERSDEV: { service: orders, env: dev }
`;
