// `npm run build`, after tsc: bundles the sandbox console page into dist/page (see page-bundle.ts).
import { buildPage, writePage } from './page-bundle';

buildPage()
  .then(writePage)
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
