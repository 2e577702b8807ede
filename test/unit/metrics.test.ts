// The sample Grafana dashboard (docs/grafana-dashboard.json) and README.md's metrics list against
// what /metrics really exports (src/metrics.ts's registry, prom-client's default metrics included):
// every series a panel or variable queries exists, with the labels it filters or groups by, and
// every lanebot_* metric is on the dashboard and in the README.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metrics } from '../../src/metrics';

const ROOT = join(__dirname, '..', '..');
const dashboard = JSON.parse(readFileSync(join(ROOT, 'docs', 'grafana-dashboard.json'), 'utf8')) as {
  uid: string;
  templating: { list: { name: string; type: string; query?: string | { query: string }; definition?: string }[] };
  panels: { id: number; title: string; targets?: { expr: string; refId: string }[] }[];
};

/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = ['job', 'instance'];
const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset']);

interface ExportedSeries {
  metric: string;
  labels: string[];
}

/** Every series name /metrics exports, with the labels it may carry (histograms as _bucket/_sum/_count). */
async function exportedSeries(): Promise<Map<string, ExportedSeries>> {
  const metrics = new Metrics();
  const out = new Map<string, ExportedSeries>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    // prom-client keeps the declared label names on the metric object (not in its typings).
    const declared = (metrics.registry.getSingleMetric(metric.name) as unknown as { labelNames?: string[] }).labelNames ?? [];
    const labels = [...declared, ...TARGET_LABELS];
    // At run time `type` is prom-client's string ('histogram'); its typings declare a numeric enum.
    if (String(metric.type) === 'histogram') {
      out.set(`${metric.name}_bucket`, { metric: metric.name, labels: [...labels, 'le'] });
      out.set(`${metric.name}_sum`, { metric: metric.name, labels });
      out.set(`${metric.name}_count`, { metric: metric.name, labels });
    } else {
      out.set(metric.name, { metric: metric.name, labels });
    }
  }
  return out;
}

interface Query {
  where: string;
  series: string[];
  /** Label names in matchers ({a="x"}) and in by/without clauses. */
  labels: string[];
}

/** The series names and label names a PromQL expression reads (enough PromQL for this dashboard). */
function readsOf(expr: string): { series: string[]; labels: string[] } {
  const labels: string[] = [];
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  rest = rest.replace(/\{([^}]*)\}/g, (_m, inner: string) => {
    for (const matcher of inner.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) labels.push(matcher[1]!);
    return ' ';
  });
  rest = rest.replace(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g, (_m, inner: string) => {
    labels.push(...inner.split(',').map((l) => l.trim()).filter(Boolean));
    return ' ';
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' ');
  const series = [...rest.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter((m) => m[2] === undefined && !PROMQL_KEYWORDS.has(m[1]!))
    .map((m) => m[1]!);
  return { series, labels };
}

function dashboardQueries(): Query[] {
  const queries: Query[] = [];
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) queries.push({ where: `panel "${panel.title}" ${target.refId}`, ...readsOf(target.expr) });
  }
  for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
    const query = typeof variable.query === 'string' ? variable.query : variable.query!.query;
    const labelValues = /^label_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*([a-zA-Z_]\w*)\s*\)$/.exec(query);
    if (labelValues) queries.push({ where: `variable $${variable.name}`, series: [labelValues[1]!], labels: [labelValues[2]!] });
    else queries.push({ where: `variable $${variable.name}`, ...readsOf(query) });
    expect(variable.definition).toBe(query);
  }
  return queries;
}

describe('readsOf (the PromQL reader the checks below rely on)', () => {
  it('finds series and labels, not functions, keywords, durations or label values', () => {
    expect(
      readsOf('histogram_quantile(0.99, sum by (le, queue) (rate(a_bucket{job=~"$job", outcome!="fa{i}led"}[5m]))) / on (job) b_total offset 5m'),
    ).toEqual({ series: ['a_bucket', 'b_total'], labels: ['job', 'outcome', 'le', 'queue', 'job'] });
    expect(readsOf('count(process_start_time_seconds)')).toEqual({ series: ['process_start_time_seconds'], labels: [] });
  });
});

describe('docs/grafana-dashboard.json', () => {
  it('is a dashboard of panels with queries, each panel with its own id, on a Prometheus data source variable', () => {
    expect(dashboard.uid).toBe('lanebot');
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) expect({ panel: panel.title, targets: (panel.targets ?? []).length > 0 }).toEqual({ panel: panel.title, targets: true });
    // Every series a panel reads is limited to the chosen jobs, so other apps' process_* series stay out.
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        for (const name of readsOf(target.expr).series) {
          const uses = target.expr.match(new RegExp(`\\b${name}\\b`, 'g')) ?? [];
          const scoped = target.expr.match(new RegExp(`\\b${name}\\{[^}]*job=~"\\$job"[^}]*\\}`, 'g')) ?? [];
          expect({ panel: panel.title, name, scoped: scoped.length === uses.length }).toEqual({ panel: panel.title, name, scoped: true });
        }
      }
    }
  });

  it('queries only series /metrics exports, by labels they carry', async () => {
    const exported = await exportedSeries();
    const problems: string[] = [];
    for (const query of dashboardQueries()) {
      for (const name of query.series) {
        const series = exported.get(name);
        if (!series) {
          problems.push(`${query.where}: ${name} is not exported`);
          continue;
        }
        // A label of another series in the same expression (job from a by clause) is checked there.
        const known = new Set(query.series.flatMap((s) => exported.get(s)?.labels ?? []));
        for (const label of query.labels) if (!known.has(label)) problems.push(`${query.where}: no series it reads has the label ${label}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("shows every lanebot_* metric of src/metrics.ts (each histogram's buckets, sum and count)", async () => {
    const exported = await exportedSeries();
    const queried = new Set(dashboardQueries().flatMap((q) => q.series));
    const lanebotSeries = [...exported.keys()].filter((name) => name.startsWith('lanebot_'));
    expect(lanebotSeries.length).toBeGreaterThanOrEqual(3);
    expect(lanebotSeries.filter((name) => !queried.has(name))).toEqual([]);
  });
});

describe("README.md's metrics list", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Metrics'), readme.indexOf('\n## ', readme.indexOf('## Metrics') + 1));

  it('names every lanebot_* metric, and no series /metrics does not export', async () => {
    expect(section.length).toBeGreaterThan(100);
    const exported = await exportedSeries();
    const metricNames = new Set([...exported.values()].map((s) => s.metric));
    const mentioned = new Set([...section.matchAll(/`((?:lanebot|process|nodejs)_[a-z0-9_]+)`/g)].map((m) => m[1]!));
    for (const name of metricNames) if (name.startsWith('lanebot_')) expect({ name, listed: mentioned.has(name) }).toEqual({ name, listed: true });
    for (const name of mentioned) expect({ name, exported: exported.has(name) || metricNames.has(name) }).toEqual({ name, exported: true });
  });
});
