// The container image, checked without a Docker engine (none here): the Dockerfile is parsed and
// its runtime stage held to what production needs. What an image build would find out first
// (a runtime import of a devDependency, templates not where the code looks for them) is checked
// against the code too.
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, posix, resolve } from 'node:path';

const ROOT = join(__dirname, '../..');

interface Instruction {
  keyword: string;
  /** The arguments as written (continuations joined). */
  args: string;
  line: number;
}

interface Stage {
  name?: string;
  image: string;
  instructions: Instruction[];
}

/**
 * Dockerfile → stages of instructions. Follows the reference's rules that matter here: `#` starts
 * a comment line, a trailing `\` continues the instruction on the next line (comment lines inside
 * a continuation are dropped), keywords are case-insensitive. https://docs.docker.com/reference/dockerfile/
 */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && !pending)) return;
    const continued = line.endsWith('\\');
    const part = continued ? line.slice(0, -1) : line;
    pending = pending ? { text: `${pending.text} ${part}`, line: pending.line } : { text: part, line: index + 1 };
    if (continued) return;
    const [, keyword, args] = /^(\S+)\s*(.*)$/s.exec(pending.text.trim())!;
    instructions.push({ keyword: keyword!.toUpperCase(), args: args!.replace(/\s+/g, ' ').trim(), line: pending.line });
    pending = undefined;
  });

  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.args.split(' ');
      const resolved = image!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a: string | undefined, b: string | undefined) => globalArgs.get((a ?? b)!) ?? '');
      stages.push({ image: resolved, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [name, value] = instruction.args.split('=');
      globalArgs.set(name!, value ?? '');
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { args: globalArgs, stages };
}

/** `KEY=value KEY2="value 2"` (ENV's and LABEL's form) → a map. */
function keyValues(args: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const match of args.matchAll(/(\w+)=("([^"]*)"|\S*)/g)) values.set(match[1]!, match[3] ?? match[2]!);
  return values;
}

/** An exec-form (JSON array) argument list, or undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  return JSON.parse(args) as string[];
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const runtime = dockerfile.stages.at(-1)!;
const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
const last = (stage: Stage, keyword: string) => all(stage, keyword).at(-1);
const env = new Map(all(runtime, 'ENV').flatMap((i) => [...keyValues(i.args)]));
const workdir = last(runtime, 'WORKDIR')?.args ?? '/';
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** A COPY's sources and destination, with its --from and --chown flags. */
function copyOf(instruction: Instruction): { from?: string; chown?: string; sources: string[]; dest: string } {
  const words = execForm(instruction.args) ?? instruction.args.split(' ');
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const flag = (name: string) => flags.find((f) => f.startsWith(`--${name}=`))?.split('=')[1];
  return { from: flag('from'), chown: flag('chown'), sources: paths.slice(0, -1), dest: posix.resolve(workdir, paths.at(-1)!) };
}

/**
 * The npm packages the production entry point (src/main.ts) loads at run time: its import graph,
 * type-only imports left out (the compiler erases them).
 */
function runtimePackages(entry: string): Map<string, string> {
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    const specifiers = [
      ...[...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[1]!),
      ...[...text.matchAll(/\b(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!),
    ];
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) {
        const base = resolve(dirname(file), specifier);
        const target = [`${base}.ts`, join(base, 'index.ts'), base].find((candidate) => existsSync(candidate) && candidate.endsWith('.ts'));
        if (!target) throw new Error(`${file}: cannot resolve ${specifier}`);
        visit(target);
      } else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) {
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (!packages.has(name)) packages.set(name, file.slice(ROOT.length + 1));
      }
    }
  };
  visit(join(ROOT, entry));
  return packages;
}

describe('the Dockerfile', () => {
  it('builds in a stage of its own and keeps only the compiled output for the runtime stage', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    const build = dockerfile.stages.find((s) => s.name && all(s, 'RUN').some((r) => /\bnpm run build\b/.test(r.args)));
    expect(build).toBeDefined();
    expect(all(build!, 'RUN').some((r) => /\bnpm ci\b/.test(r.args))).toBe(true);
    const fromBuild = all(runtime, 'COPY').map(copyOf).filter((c) => c.from === build!.name);
    expect(fromBuild).toEqual([expect.objectContaining({ sources: [posix.join(last(build!, 'WORKDIR')!.args, 'dist')], dest: posix.join(workdir, 'dist') })]);
    // No `COPY . .` in the runtime stage: sources, tests and local files stay out of the image.
    expect(all(runtime, 'COPY').map(copyOf).filter((c) => !c.from && c.sources.some((s) => s === '.' || s === './'))).toEqual([]);
  });

  it('runs on a Node.js the package supports, the same in both stages', () => {
    const minimum = Number(/>=\s*(\d+)/.exec(packageJson.engines.node)![1]);
    for (const stage of dockerfile.stages) {
      const major = Number(/^node:(\d+)/.exec(stage.image)?.[1]);
      expect(major).toBeGreaterThanOrEqual(minimum);
    }
    expect(new Set(dockerfile.stages.map((s) => s.image)).size).toBe(1);
  });

  it('caps the V8 heap (lanebot keeps its state in Redis; bench/README.md has the RSS figures)', () => {
    expect(env.get('NODE_OPTIONS')).toMatch(/--max-old-space-size=\d+/);
  });

  it('installs production dependencies only, with NODE_ENV=production', () => {
    expect(env.get('NODE_ENV')).toBe('production');
    const installs = all(runtime, 'RUN').filter((r) => /\bnpm (ci|install|i)\b/.test(r.args));
    expect(installs).toHaveLength(1);
    expect(installs[0]!.args).toMatch(/\bnpm ci\b[^&]*--omit=dev/);
    // package.json and the lock file come in before `npm ci`, so the install layer is reused.
    const copies = all(runtime, 'COPY').map(copyOf);
    expect(copies[0]!.sources).toEqual(['package.json', 'package-lock.json']);
    expect(runtime.instructions.indexOf(all(runtime, 'COPY')[0]!)).toBeLessThan(runtime.instructions.indexOf(installs[0]!));
  });

  it('has every package the bot loads at run time among the dependencies `npm ci --omit=dev` installs', () => {
    const packages = runtimePackages('src/main.ts');
    expect(packages.has('@slack/bolt')).toBe(true);
    const notInstalled = [...packages].filter(([name]) => !packageJson.dependencies[name]).map(([name, file]) => `${name} (imported by ${file})`);
    expect(notInstalled).toEqual([]);
  });

  it('copies templates/ to where the code looks for it (two folders above dist/src/main.js)', () => {
    const templates = all(runtime, 'COPY').map(copyOf).find((c) => !c.from && c.sources.includes('templates'));
    expect(templates).toBeDefined();
    const [, main] = execForm(last(runtime, 'CMD')!.args)!;
    // src/lanebot.ts defaultTemplatesDir(): resolve(__dirname, '..', '..', 'templates') from dist/src.
    expect(templates!.dest).toBe(posix.resolve(workdir, posix.dirname(main!), '..', '..', 'templates'));
    expect(existsSync(join(ROOT, 'templates', 'pipelines'))).toBe(true);
  });

  it('runs as a user that is not root and cannot change the application files', () => {
    const user = last(runtime, 'USER');
    expect(user).toBeDefined();
    const [name, group] = user!.args.split(':');
    expect(['root', '0']).not.toContain(name);
    if (group !== undefined) expect(['root', '0']).not.toContain(group);
    // The USER applies to what runs after it: the CMD and the health check.
    expect(runtime.instructions.indexOf(user!)).toBeLessThan(runtime.instructions.indexOf(last(runtime, 'CMD')!));
    expect(all(runtime, 'COPY').map(copyOf).filter((c) => c.chown !== undefined)).toEqual([]);
    expect(all(runtime, 'RUN').filter((r) => /\bchown\b|\bchmod\b/.test(r.args))).toEqual([]);
  });

  it('starts node itself (exec form), which takes SIGTERM and stops cleanly', () => {
    const cmd = execForm(last(runtime, 'CMD')!.args);
    expect(cmd).toEqual(['node', 'dist/src/main.js']);
    expect(packageJson.scripts.start).toMatch(/node dist\/src\/main\.js/);
    expect(all(runtime, 'ENTRYPOINT')).toEqual([]);
    expect(last(runtime, 'STOPSIGNAL')?.args).toBe('SIGTERM');
    expect(readFileSync(join(ROOT, 'src/main.ts'), 'utf8')).toMatch(/process\.once\('SIGTERM'/);
  });

  it('checks its health on GET /healthz at $PORT, which it exposes', () => {
    const healthcheck = last(runtime, 'HEALTHCHECK');
    expect(healthcheck).toBeDefined();
    const [, options, command] = /^((?:--\S+\s+)*)CMD\s+(.*)$/.exec(healthcheck!.args)!;
    for (const option of ['interval', 'timeout', 'retries']) expect(options).toMatch(new RegExp(`--${option}=\\S+`));
    const probe = execForm(command!);
    expect(probe?.[0]).toBe('node'); // the slim image has no curl or wget
    expect(probe!.join(' ')).toMatch(/\/healthz/);
    expect(probe!.join(' ')).toMatch(/process\.env\.PORT/);
    expect(env.get('PORT')).toBe('3000');
    expect(all(runtime, 'EXPOSE').map((e) => e.args)).toEqual([env.get('PORT')]);
  });

  it('reads its config from a mounted file, not one baked into the image', () => {
    expect(env.get('LANEBOT_CONFIG')).toBe('/etc/lanebot/lanebot.yml');
    expect(all(runtime, 'COPY').map(copyOf).flatMap((c) => c.sources).filter((s) => /lanebot\.ya?ml$|\.env/.test(s))).toEqual([]);
  });
});

describe('.dockerignore', () => {
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('keeps host builds, git history and secrets out of the build context', () => {
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git', '.env', 'lanebot.yml']));
  });

  it('leaves in what the build needs', () => {
    for (const needed of ['package.json', 'package-lock.json', 'templates', 'src', 'commands', 'tsconfig.json', 'tsconfig.build.json']) {
      expect(ignored).not.toContain(needed);
    }
  });
});
