import { describe, expect, it } from 'vitest';
import { HELP, parseCommandLine } from './commandLine.js';
import { PROXY_DEADLINE_DEFAULTS, proxyDeadlines, worstCaseCloseMs } from './defaults.js';

const UPSTREAM = ['--upstream', 'a=http://127.0.0.1:8545'];

describe('the proxy command line', () => {
  it('maps every limit flag to its option', () => {
    const options = parseCommandLine([
      ...UPSTREAM,
      '--admin-listen', '[::1]:9090',
      '--max-clients', '100',
      '--max-buffered-bytes', '1048576',
      '--max-in-flight', '64',
      '--max-subscriptions', '16',
      '--ping-interval-ms', '15000',
      '--headers-timeout-ms', '10000',
      '--http-request-timeout-ms', '20000',
      '--http-keepalive-timeout-ms', '3000',
      '--deadline-check-interval-ms', '2000',
      '--drain-ms', '30000',
    ]);
    expect(options).toMatchObject({
      adminListen: { host: '::1', port: 9090 },
      maxClients: 100,
      maxBufferedBytes: 1_048_576,
      pingIntervalMs: 15_000,
      drainMs: 30_000,
      session: { maxInFlight: 64, maxSubscriptions: 16 },
      deadlines: { headersTimeoutMs: 10_000, requestTimeoutMs: 20_000, keepAliveTimeoutMs: 3_000, checkIntervalMs: 2_000 },
    });
  });

  it('leaves out what is not given, so the defaults apply in one place', () => {
    const options = parseCommandLine(UPSTREAM);
    expect(options).toEqual({
      listen: { host: '127.0.0.1', port: 8080 },
      upstreams: [{ name: 'a', tier: 'primary', http: 'http://127.0.0.1:8545', ws: 'ws://127.0.0.1:8545' }],
      health: {},
      session: {},
      deadlines: {},
    });
  });

  it('turns hedged reads on with either hedging flag', () => {
    expect(parseCommandLine([...UPSTREAM, '--hedge-delay-ms', '250'])).toMatchObject({ hedge: { delayMs: 250 } });
    expect(parseCommandLine([...UPSTREAM, '--hedge-percentile', '95'])).toMatchObject({ hedge: { percentile: 95 } });
    expect(parseCommandLine([...UPSTREAM, '--hedge-percentile', '95', '--hedge-delay-ms', '50'])).toMatchObject({ hedge: { delayMs: 50, percentile: 95 } });
    expect(parseCommandLine(UPSTREAM)).not.toHaveProperty('hedge');
  });

  it('refuses a value that is not a non-negative integer, naming the flag', () => {
    for (const flag of ['--max-clients', '--drain-ms', '--max-in-flight', '--headers-timeout-ms']) {
      for (const value of ['-1', '1.5', 'ten', '']) {
        expect(() => parseCommandLine([...UPSTREAM, `${flag}=${value}`])).toThrow(`${flag} must be a non-negative integer`);
      }
    }
  });

  it('documents every flag in the help', () => {
    for (const flag of ['--admin-listen', '--max-clients', '--max-buffered-bytes', '--max-in-flight', '--max-subscriptions', '--drain-ms', '--headers-timeout-ms', '--http-request-timeout-ms', '--http-keepalive-timeout-ms', '--deadline-check-interval-ms', '--ping-interval-ms', '--hedge-delay-ms', '--hedge-percentile']) {
      expect(HELP).toContain(flag);
    }
    expect(HELP).toContain('(default 10000)'); // --max-clients, --drain-ms
    expect(HELP).toContain('(default 16777216)'); // --max-buffered-bytes, from the library
    expect(HELP).toMatch(/GET \/readyz/);
  });
});

describe('the deadlines', () => {
  it('close a slow or silent connection within 60 s with the defaults, Node’s sweep included', () => {
    expect(worstCaseCloseMs(PROXY_DEADLINE_DEFAULTS)).toEqual({ headers: 25_000, body: 35_000, idle: 6_000 });
  });

  it('are checked as Node checks them', () => {
    expect(() => proxyDeadlines({ headersTimeoutMs: 0 })).toThrow('Expected headersTimeoutMs to be an integer > 0, got 0');
    expect(() => proxyDeadlines({ headersTimeoutMs: 40_000 })).toThrow('Expected headersTimeoutMs (40000) <= requestTimeoutMs (30000)');
    expect(proxyDeadlines({ checkIntervalMs: 1_000 })).toEqual({ ...PROXY_DEADLINE_DEFAULTS, checkIntervalMs: 1_000 });
  });
});
