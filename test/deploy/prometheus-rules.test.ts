/**
 * deploy/prometheus and deploy/grafana: the alert rules pass `promtool check rules`, each
 * alert fires and stays silent where its unit tests say (`promtool test rules`), and every
 * metric an alert or a dashboard panel names is one the connector exports at /metrics.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { opsFeature } from '../../src/ops/ops-feature.ts';
import { ensureDebianTool, type ToolOrReason } from '../helpers/debian-tool.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const rulesFile = join(root, 'deploy', 'prometheus', 'alerts.yml');
const rulesTests = join(root, 'deploy', 'prometheus', 'alerts.test.yml');
const dashboardFile = join(root, 'deploy', 'grafana', 'chat-connector.json');

let promtool: ToolOrReason = { path: null, reason: 'not checked yet' };
let work = '';
beforeAll(() => {
  promtool = ensureDebianTool('promtool', 'prometheus');
  if (promtool.reason) process.stderr.write(`promtool tests skipped: ${promtool.reason}\n`);
  work = mkdtempSync(join(tmpdir(), 'cc-rules-'));
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[], cwd: string): { status: number | null; output: string } {
  const r = spawnSync(promtool.path!, args, { encoding: 'utf8', cwd });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

interface AlertRule {
  alert: string;
  expr: string;
}
const alertRules = (): AlertRule[] =>
  (parseYaml(readFileSync(rulesFile, 'utf8')) as { groups: { rules: AlertRule[] }[] }).groups.flatMap((g) => g.rules);

/** Metric names in a PromQL expression (ours all start with chat_connector_). */
const metricNames = (expr: string): string[] => [...expr.matchAll(/\bchat_connector_[a-z0-9_]+/g)].map((m) => m[0]);

describe('alert rules', () => {
  it('pass promtool check rules', (ctx) => {
    if (!promtool.path) return ctx.skip();
    const r = run(['check', 'rules', rulesFile], root);
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
  });

  it('each alert fires on a series that should fire it and stays silent on one that should not (promtool test rules)', (ctx) => {
    if (!promtool.path) return ctx.skip();
    const r = run(['test', 'rules', rulesTests], dirname(rulesTests));
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  it('every alert has unit tests that expect it to fire and to stay silent', () => {
    const tests = parseYaml(readFileSync(rulesTests, 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const { alert } of alertRules()) {
      expect(
        cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0),
        `${alert} fires somewhere`,
      ).toBe(true);
      expect(
        cases.some((c) => c.alertname === alert && c.exp_alerts.length === 0),
        `${alert} stays silent somewhere`,
      ).toBe(true);
    }
  });

  it('a broken threshold makes promtool test rules fail (so the test above can fail)', (ctx) => {
    if (!promtool.path) return ctx.skip();
    const dir = mkdtempSync(join(work, 'broken-'));
    writeFileSync(join(dir, 'alerts.yml'), readFileSync(rulesFile, 'utf8').replace('> 600', '> 6000'));
    copyFileSync(rulesTests, join(dir, 'alerts.test.yml'));
    const r = run(['test', 'rules', 'alerts.test.yml'], dir);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/ChatConnectorInboundWaiting/);
  });
});

describe('metric names', () => {
  let ts: TestStack | null = null;
  afterAll(async () => ts?.stop());

  it('every metric named by an alert or a Grafana panel is exported by the connector', async () => {
    ts = await startTestStack({ connector: { features: [opsFeature({ refreshMs: 0 })] } });
    const text = await (await fetch(`${ts.connector.url}/metrics`)).text();
    const exported = new Set<string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [name, type] = [m[1], m[2]];
      exported.add(name);
      if (type === 'histogram') for (const s of ['_bucket', '_count', '_sum']) exported.add(name + s);
      if (type === 'summary') for (const s of ['_count', '_sum']) exported.add(name + s);
    }
    const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const named = [
      ...alertRules().flatMap((r) => metricNames(r.expr).map((n) => ({ where: `alert ${r.alert}`, n }))),
      ...dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr).map((n) => ({ where: `panel "${p.title}"`, n })))),
    ];
    expect(named.length).toBeGreaterThan(20);
    const unknown = named.filter(({ n }) => !exported.has(n)).map(({ where, n }) => `${where}: ${n}`);
    expect(unknown).toEqual([]);
  });
});
