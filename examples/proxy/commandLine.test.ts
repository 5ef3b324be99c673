import { describe, expect, it } from 'vitest';
import { startProxyServer } from '../proxy-server.js';
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

  it('refuses a value that is not an integer in range, naming the flag', () => {
    for (const flag of ['--max-clients', '--drain-ms', '--max-in-flight', '--headers-timeout-ms']) {
      for (const value of ['-1', '1.5', 'ten', '']) {
        expect(() => parseCommandLine([...UPSTREAM, `${flag}=${value}`])).toThrow(new RegExp(`${flag} must be an integer >= [01]`));
      }
    }
  });

  it('refuses 0 where 0 would break every client (a cap of none, a deadline of nothing); takes it where it means something', () => {
    const needOne = ['--max-in-flight', '--max-subscriptions', '--max-buffered-bytes', '--ping-interval-ms', '--max-frame-bytes', '--queue-max', '--request-timeout-ms', '--connect-timeout-ms', '--keepalive-interval-ms', '--keepalive-timeout-ms', '--health-interval-ms', '--health-timeout-ms', '--failures-to-down', '--successes-to-up', '--headers-timeout-ms'];
    for (const flag of needOne) expect(() => parseCommandLine([...UPSTREAM, flag, '0'])).toThrow(`${flag} must be an integer >= 1, got "0"`);
    for (const flag of ['--max-lag-blocks', '--drain-ms', '--max-clients', '--hedge-delay-ms']) expect(() => parseCommandLine([...UPSTREAM, flag, '0'])).not.toThrow();
  });

  it('maps the frame, queue and session deadline flags too', () => {
    const options = parseCommandLine([...UPSTREAM, '--max-frame-bytes', '2048', '--queue-max', '7', '--request-timeout-ms', '9000', '--connect-timeout-ms', '3000', '--keepalive-interval-ms', '1500', '--keepalive-timeout-ms', '2500']);
    expect(options).toMatchObject({ maxFrameBytes: 2048, session: { queue: { maxCount: 7 }, requestTimeoutMs: 9_000, connectTimeoutMs: 3_000, keepaliveIntervalMs: 1_500, keepaliveTimeoutMs: 2_500 } });
    // The same deadline bounds each try of a POST /; without the flag, the pool's own (10 s) stands.
    expect((options as { upstreamHttp?: unknown }).upstreamHttp).toEqual({ attemptTimeoutMs: 9_000 });
    expect((parseCommandLine([...UPSTREAM]) as { upstreamHttp?: unknown }).upstreamHttp).toBeUndefined();
  });

  it('documents every flag in the help', () => {
    for (const flag of ['--admin-listen', '--max-clients', '--max-http-in-flight', '--max-buffered-bytes', '--max-in-flight', '--max-subscriptions', '--drain-ms', '--headers-timeout-ms', '--http-request-timeout-ms', '--http-keepalive-timeout-ms', '--deadline-check-interval-ms', '--ping-interval-ms', '--hedge-delay-ms', '--hedge-percentile']) {
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

describe('startProxyServer', () => {
  it('refuses settings that would fail at the first client, before it listens', async () => {
    const upstreams = [{ name: 'a', http: 'http://127.0.0.1:1' }];
    await expect(startProxyServer({ upstreams, session: { maxInFlight: 0 } })).rejects.toThrow('Expected maxInFlight to be an integer >= 1, got 0');
    await expect(startProxyServer({ upstreams, session: { requestTimeoutMs: -5 } })).rejects.toThrow('Expected requestTimeoutMs to be a finite number > 0, got -5');
    await expect(startProxyServer({ upstreams, session: { maxBatchSize: 1.5 } })).rejects.toThrow('Expected session.maxBatchSize to be an integer >= 1, got 1.5');
    // The options the proxy's flags never set, but a host that embeds startProxyServer may: each
    // used to pass here and then throw inside the upgrade handler at the first client.
    await expect(startProxyServer({ upstreams, session: { continuity: { reorgDepth: 0 } } })).rejects.toThrow('Expected continuity.reorgDepth to be an integer >= 1, got 0');
    await expect(startProxyServer({ upstreams, session: { consistency: { waitMs: -1 } } })).rejects.toThrow('Expected consistency.waitMs to be a finite number > 0, got -1');
    await expect(startProxyServer({ upstreams, session: { backoff: { initialDelayMs: -1 } } })).rejects.toThrow('Expected initialDelayMs to be a finite number >= 0, got -1');
    await expect(startProxyServer({ upstreams, session: { keepaliveMethod: '' } })).rejects.toThrow('Expected keepaliveMethod to be a non-empty string, got ""');
    await expect(startProxyServer({ upstreams, session: { environment: {} as never } })).rejects.toThrow('Expected environment to be an Environment');
    await expect(startProxyServer({ upstreams, session: { queue: { maxCount: 0 } } })).rejects.toThrow('Expected maxCount to be an integer >= 1, got 0');
    await expect(startProxyServer({ upstreams, maxFrameBytes: 0 })).rejects.toThrow('Expected maxFrameBytes to be an integer >= 1, got 0');
    await expect(startProxyServer({ upstreams, maxBufferedBytes: 0 })).rejects.toThrow('Expected maxBufferedBytes to be a finite number > 0, got 0');
    await expect(startProxyServer({ upstreams, pingIntervalMs: Number.NaN })).rejects.toThrow('Expected pingIntervalMs to be a finite number > 0, got NaN');
  });
});

describe('a mistyped --upstream', () => {
  it('is refused without echoing the API key its URL carries', () => {
    for (const spec of ['https://eth-mainnet.g.alchemy.com/v2/SECRETKEY123', 'https://rpc.example.com/SECRETKEY123?apikey=OTHERSECRET', 'wss://user:PASSWORD@node.example/ws']) {
      let message = '';
      try {
        parseCommandLine(['--upstream', spec]);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^Expected NAME=HTTP_URL\[,WS_URL\]/);
      expect(message).not.toMatch(/SECRET|PASSWORD/);
    }
    expect(() => parseCommandLine(['--upstream', 'https://eth-mainnet.g.alchemy.com/v2/KEY'])).toThrow('got "https://eth-mainnet.g.alchemy.com/***"');
    expect(parseCommandLine(['--upstream', 'main=https://rpc.example.com/v3/KEY?apikey=X'])).toMatchObject({ upstreams: [{ name: 'main', http: 'https://rpc.example.com/v3/KEY?apikey=X' }] });
  });
});
