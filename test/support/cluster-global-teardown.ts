// Stops the cluster cluster-global-setup.ts started, if it did.
export default async function stopTestCluster(): Promise<void> {
  await globalThis.lanebotTestCluster?.stop();
  globalThis.lanebotTestCluster = undefined;
}
