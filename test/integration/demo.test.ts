/**
 * `npm run demo` (examples/demo/main.ts), run in-process on a shorter script against real anvil
 * nodes: the summary it prints must be the one the README promises, and the chart must be written.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '../../examples/demo/main.js';

describe('the demo (npm run demo)', { timeout: 60_000 }, () => {
  let dir: string;
  let result: DemoResult;
  const lines: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'steadyrpc-demo-'));
    result = await runDemo({ scale: 0.4, nodes: 'anvil', out: (line) => lines.push(line), svgPath: join(dir, 'timeline.svg') });
  }, 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs to its summary: 0 lost, 0 leaked, no duplicate block, no error', () => {
    const printed = lines.join('\n');
    expect(result.interrupted).toBe(false);
    expect(result.nodes).toBe('anvil');
    expect(printed).toContain('✔ 0 lost, 0 leaked replay answers, 0 duplicate blocks, 0 errors');
    expect(result.clients.map((c) => c.name)).toEqual(['ws', 'viem', 'ethers']);
    for (const client of result.clients) {
      expect(client, client.label).toMatchObject({ lost: 0, leaked: 0, duplicateBlocks: 0, errors: 0, problems: 0 });
      expect(client.answered).toBe(client.sent);
      expect(client.sent).toBeGreaterThan(20);
      expect(client.blocks).toBeGreaterThan(5);
    }
    expect(result.ok, result.summaryLines.join('\n')).toBe(true);
  });

  it('every client is answered by the backup during the cut and by the primary after failback', () => {
    for (const client of result.clients) {
      expect(client.backupDuringCut, client.label).toBe(true);
      expect(client.primaryAfterFailback, client.label).toBe(true);
      expect(client.leftZombieMs, client.label).toBeLessThan(10_000);
      expect(client.primaryAtEnd, client.label).toBe(true);
    }
    expect(result.blackholeDetectedMs).toBeLessThan(10_000);
    // The times are printed too, one row per client.
    for (const client of result.clients) {
      expect(result.summaryLines.some((line) => line.startsWith(`  ${client.label} `) && line.includes(' s '))).toBe(true);
    }
  });

  it('writes the timeline chart as an SVG with one lane per client', async () => {
    expect(result.svgPath).toBe(join(dir, 'timeline.svg'));
    expect(lines.join('\n')).toContain(`timeline chart: ${result.svgPath}`);
    const svg = await readFile(result.svgPath!, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    // XML-ish: elements nest properly, and no stray `&` in the text.
    const stack: string[] = [];
    for (const [, close, name, selfClosing] of svg.matchAll(/<(\/?)([a-zA-Z]+)\b[^>]*?(\/?)>/g)) {
      if (close) expect(stack.pop()).toBe(name);
      else if (!selfClosing) stack.push(name!);
    }
    expect(stack).toEqual([]);
    expect(svg).not.toMatch(/&(?!amp;|lt;|gt;|quot;)/);
    const lanes = [...svg.matchAll(/<g class="lane" data-client="([^"]+)">/g)].map((m) => m[1]);
    expect(lanes).toEqual(['ws', 'viem', 'ethers']);
    for (const label of ['cut a', 'blackhole a', 'restore a']) expect(svg).toContain(`>${label}</text>`);
  });

  it('leaves no anvil process behind', () => {
    const pids = lines.flatMap((line) => [...line.matchAll(/anvil pid (\d+)/g)].map((m) => Number(m[1])));
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(() => process.kill(pid, 0), `anvil ${pid} still running`).toThrow();
  });
});
