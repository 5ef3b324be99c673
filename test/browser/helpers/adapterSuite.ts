/**
 * The browser suite each adapter page runs (test/browser/viem.test.ts, ethers.test.ts): the bundle
 * is browser-clean, and the page rides through a cut and a blackhole of the primary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeScenario, FAULT_MS, runFaultScenario } from './faultScenario.js';
import { startRig, type PageName, type Rig } from './rig.js';

export function adapterSuite(name: PageName, library: string): void {
  describe(`${library} in headless Chromium`, { timeout: 60_000 }, () => {
    let rig: Rig;

    beforeAll(async () => {
      rig = await startRig(name);
      console.log(`${library} page: ${(rig.bundle.bytes / 1024).toFixed(0)} KB bundled in ${rig.bundle.buildMs} ms; Chromium launched in ${rig.launchMs} ms`);
    }, 60_000);

    afterAll(async () => {
      await rig?.stop();
    });

    it('bundles for the browser with its variants, no ws, no node: import and nothing left out', () => {
      expect(rig.bundle.inputs.filter((input) => /(^|\/)node_modules\/ws\//.test(input))).toEqual([]);
      expect(rig.bundle.inputs.filter((input) => input.startsWith('node:'))).toEqual([]);
      expect(rig.bundle.external).toEqual([]);
      // The browser build's variants: the standard WebSocket by default, no ws to reach for.
      expect(rig.bundle.inputs).toContain('src/transport/defaultSocketTransport.browser.ts');
      expect(rig.bundle.inputs).toContain('src/transport/StandardWebSocketTransport.ts');
    });

    it('keeps blocks flowing and every call answered through a cut and a blackhole of the primary, fails back, and reports no error', async () => {
      const page = await rig.open();
      const report = await runFaultScenario(page, rig.cluster);
      console.log(describeScenario(library, report));
      const network = page.log.browserErrors.filter(({ source }) => source === 'network');
      console.log(`${library}: ${network.length} network log entries from the browser (expected while a node is down), e.g. ${JSON.stringify(network[0]?.text ?? '')}`);
      if (report.snapshot.sessionErrors.length > 0) console.log(`${library}: session handled ${report.snapshot.sessionErrors.length} errors: ${[...new Set(report.snapshot.sessionErrors.map((e) => e.code))].join(', ')}`);

      for (const phase of report.phases) {
        // 1 s blocks: a 5 s fault leaves room for at least 3 new ones from the backup.
        expect(phase.newBlocksDuring, `${phase.fault}: new blocks during the fault`).toBeGreaterThanOrEqual(3);
        expect(phase.leftMs, `${phase.fault}: the session left a`).toBeLessThan(FAULT_MS);
        expect(phase.answeredByB, `${phase.fault}: calls answered by b`).toBeGreaterThan(0);
        expect(phase.failbackMs, `${phase.fault}: failback after restore`).toBeLessThan(5_000);
        expect(phase.blocksAfter.length).toBeGreaterThanOrEqual(2);
      }
      expect(report.calls.length).toBeGreaterThan(40);
      expect(report.calls.filter((call) => call.error !== undefined)).toEqual([]);
      expect(report.snapshot.node).toBe('a');
      expect(report.snapshot.errors).toEqual([]);
      expect(page.errors()).toEqual([]);
    });
  });
}
