import { describe, expect, it } from 'vitest';
import { SteadyRpcError } from '../src/errors.js';
import { redactText, redactUrl } from '../src/redact.js';

describe('credentials never reach a message', () => {
  it.each([
    ['https://user:pw@rpc.example.com/', 'https://rpc.example.com/'],
    ['wss://rpc.example.com/v2/abcdefghijklmnopqrstuvwxyz123456', 'wss://rpc.example.com/v2/***'],
    ['https://rpc.example.com/?apikey=k1&chain=1', 'https://rpc.example.com/?apikey=***&chain=1'],
    ['https://rpc.example.com/?token=t&x=abcdefghijklmnopqrstuvwxyz', 'https://rpc.example.com/?token=***&x=***'],
    ['not a url', '<invalid url>'],
  ])('redactUrl(%s) is %s', (raw, redacted) => {
    expect(redactUrl(raw)).toBe(redacted);
  });

  it('redactText hides every secret of a URL wherever it appears in a text', () => {
    const url = 'wss://alice:hunter22@node.example.com/rpc?key=s3cr3t';
    expect(redactText(`Invalid URL: ${url}; user alice, pw hunter22, key s3cr3t`, url)).not.toMatch(/alice|hunter22|s3cr3t/);
  });

  it('SteadyRpcError.forUrl scrubs the message, the details and the cause chain', () => {
    const url = 'https://alice:hunter22@node.example.com/?apikey=s3cr3t';
    const root = new Error(`connect failed for ${url}`);
    const error = SteadyRpcError.forUrl('ERR_TRANSPORT', 'Request failed', url, {
      cause: new Error('outer', { cause: root }),
      details: `tried ${url}`,
    });
    const chain: string[] = [error.message];
    for (let e: unknown = error.cause; e instanceof Error; e = e.cause) chain.push(e.message);
    expect(chain.join('\n')).not.toMatch(/alice|hunter22|s3cr3t/);
    expect(chain.join('\n')).toContain('connect failed');
  });

  it('keeps a harmless cause as it is', () => {
    const cause = new Error('ECONNREFUSED 127.0.0.1:8545');
    expect(SteadyRpcError.forUrl('ERR_TRANSPORT', 'x', 'http://127.0.0.1:8545/', { cause }).cause).toBe(cause);
  });
});
