// The console page: TypeScript modules in src/sandbox/page, bundled by esbuild into one browser
// script that the console serves as /app.js (index.html loads it).
//
// Where the bundle comes from:
// - run from dist (`npm run sandbox`): `npm run build` wrote it to dist/page/ (build-page.ts);
// - run from source (jest through @swc/jest, tsx; the tests start the console in-process and as a
//   process): built in memory on the first request for it, once per process. That covers every way
//   the tests and `tsx src/sandbox/main.ts` start the console without a build step or a jest
//   globalSetup, and never serves a dist/ bundle older than the sources next to it.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { BuildResult } from 'esbuild';

/** The bundle's file name, as index.html names it; its source map is `${PAGE_SCRIPT}.map`. */
export const PAGE_SCRIPT = 'app.js';

/** File name (`app.js`, `app.js.map`) → content. */
export type PageBundle = ReadonlyMap<string, Uint8Array>;

export class PageBundleError extends Error {
  constructor(
    readonly code: 'PAGE_BUNDLE_MISSING' | 'PAGE_BUILD_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PageBundleError';
  }
}

/** This file runs as .ts from source (swc, tsx) and as .js from dist/src/sandbox. */
const RUNNING_FROM_SOURCE = __filename.endsWith('.ts');
const REPO_ROOT = RUNNING_FROM_SOURCE ? resolve(__dirname, '..', '..') : resolve(__dirname, '..', '..', '..');
const PAGE_SOURCES = join(REPO_ROOT, 'src', 'sandbox', 'page');
/** Where `npm run build` puts the bundle. */
export const BUILT_PAGE_DIR = join(REPO_ROOT, 'dist', 'page');

/**
 * Bundles the page in memory. Refuses a bundle that pulled in anything outside src/sandbox/page:
 * the page may import server modules for their types only (`import type`).
 */
export async function buildPage(): Promise<PageBundle> {
  // Loaded here only: esbuild is a build tool (a devDependency, like tsc); a console run from dist never loads it.
  const esbuild = await import('esbuild');
  let result: BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      absWorkingDir: REPO_ROOT,
      entryPoints: [join(PAGE_SOURCES, 'main.ts')],
      outfile: join(BUILT_PAGE_DIR, PAGE_SCRIPT),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      sourcemap: 'linked',
      tsconfig: join(REPO_ROOT, 'tsconfig.page.json'),
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
  } catch (error) {
    const messages = (error as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> }).errors ?? [];
    const detail = messages.map((m) => (m.location ? `${m.location.file}:${m.location.line}: ${m.text}` : m.text)).join('\n');
    throw new PageBundleError('PAGE_BUILD_FAILED', `the console page does not build:\n${detail || String(error)}`, { cause: error });
  }
  const strays = Object.keys(result.metafile.inputs).filter((input) => !resolve(REPO_ROOT, input).startsWith(PAGE_SOURCES + sep));
  if (strays.length > 0) {
    throw new PageBundleError(
      'PAGE_BUILD_FAILED',
      `the console page bundle would include ${strays.join(', ')}: the page imports server modules with \`import type\` only`,
    );
  }
  return new Map(result.outputFiles.map((file) => [file.path.slice(BUILT_PAGE_DIR.length + 1), file.contents]));
}

/** Writes the bundle to dist/page/ (`npm run build`). */
export async function writePage(bundle: PageBundle, dir = BUILT_PAGE_DIR): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all([...bundle].map(([name, content]) => writeFile(join(dir, name), content)));
}

let loading: Promise<PageBundle> | undefined;

/** The page bundle this process serves: built once from source, or read from dist/page. */
export function pageBundle(): Promise<PageBundle> {
  loading ??= (RUNNING_FROM_SOURCE ? buildPage() : readBuiltPage()).catch((error: unknown) => {
    // A failed build is tried again on the next request (e.g. after a source fix), not cached.
    loading = undefined;
    throw error;
  });
  return loading;
}

async function readBuiltPage(): Promise<PageBundle> {
  const files = [PAGE_SCRIPT, `${PAGE_SCRIPT}.map`];
  try {
    const contents = await Promise.all(files.map((name) => readFile(join(BUILT_PAGE_DIR, name))));
    return new Map(files.map((name, i) => [name, contents[i]!]));
  } catch (error) {
    throw new PageBundleError('PAGE_BUNDLE_MISSING', `the console page is not built (${BUILT_PAGE_DIR}/${PAGE_SCRIPT}): run \`npm run build\``, { cause: error });
  }
}
