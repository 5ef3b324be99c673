import { describe, expect, it } from 'vitest';
import { redactText, redactUrl, secretsOf } from '../src/redact.js';

describe('display forms show scheme, host and port only', () => {
  it.each([
    ['https://rpc.example.com', 'https://rpc.example.com/'],
    ['https://rpc.example.com/', 'https://rpc.example.com/'],
    ['http://127.0.0.1:8545', 'http://127.0.0.1:8545/'],
    ['ws://[::1]:8546/', 'ws://[::1]:8546/'],
    ['https://user:pw@rpc.example.com/', 'https://rpc.example.com/***'],
    ['https://rpc.example.com/v2/SECRETKEY', 'https://rpc.example.com/***'],
    ['https://rpc.example.com/k3y', 'https://rpc.example.com/***'],
    ['wss://rpc.example.com:8443/v2/abcdefghijklmnopqrstuvwxyz123456', 'wss://rpc.example.com:8443/***'],
    ['https://rpc.example.com/?id=tok3n', 'https://rpc.example.com/***'],
    ['https://rpc.example.com/#frag-secret', 'https://rpc.example.com/***'],
    ['not a url', '<invalid url>'],
  ])('redactUrl(%s) is %s', (raw, display) => {
    expect(redactUrl(raw)).toBe(display);
  });

  it.each([
    ['https://rpc.example.com/v2/mainnet', 'https://rpc.example.com/v2/mainnet'],
    ['https://user:pw@rpc.example.com/v2/mainnet?id=tok3n#frag', 'https://***@rpc.example.com/v2/mainnet?***#***'],
    ['https://rpc.example.com', 'https://rpc.example.com/'],
  ])('with revealPath, redactUrl(%s) is %s', (raw, display) => {
    expect(redactUrl(raw, { revealPath: true })).toBe(display);
  });
});

describe('secretsOf names every part that may be a credential', () => {
  it('userinfo, its Basic-auth form, path segments, query names and values, fragment', () => {
    const secrets = secretsOf('https://alice:hunter22@eth.example.com/v2/k3y?id=tok3n&apikey=abc#frag-secret');
    for (const secret of ['alice', 'hunter22', 'alice:hunter22', btoa('alice:hunter22'), 'k3y', 'tok3n', 'apikey', 'abc', 'frag-secret']) {
      expect(secrets).toContain(secret);
    }
  });

  it('each part as written, decoded and re-encoded', () => {
    const secrets = secretsOf('https://eth.example.com/v2/s%2Fcr%3Dt?q=a%20b+c');
    expect(secrets).toEqual(expect.arrayContaining(['s%2Fcr%3Dt', 's/cr=t', 's%2fcr%3dt', 'a%20b+c', 'a b c', 'a b+c']));
  });

  it('header values and their words, and subprotocols', () => {
    const secrets = secretsOf({ url: 'wss://eth.example.com/', headers: { authorization: 'Bearer s3cr3t', 'x-api-key': 'xk-123' }, protocols: ['tok-proto'] });
    expect(secrets).toEqual(expect.arrayContaining(['Bearer s3cr3t', 's3cr3t', 'xk-123', 'tok-proto']));
  });

  it('leaves parts shorter than 3 characters and parts the display form shows anyway', () => {
    const secrets = secretsOf('https://eth.example.com:8545/v2/eth/8545/abc');
    expect(secrets).not.toContain('v2');
    expect(secrets).not.toContain('eth');
    expect(secrets).not.toContain('8545');
    expect(secrets).toContain('abc');
  });

  it('with revealPath, the path is not a secret but the query still is', () => {
    const secrets = secretsOf('https://eth.example.com/v2/mainnet?key=tok3n', { revealPath: true });
    expect(secrets).not.toContain('mainnet');
    expect(secrets).toContain('tok3n');
  });

  it('a URL that does not parse is a secret as a whole and in pieces', () => {
    const secrets = secretsOf('ws://user:secret@[::1/?apikey=abcdef');
    expect(secrets).toEqual(expect.arrayContaining(['ws://user:secret@[::1/?apikey=abcdef', 'user', 'secret', 'abcdef']));
  });
});

describe('redactText', () => {
  const url = 'wss://alice:hunter22@node.example.com/v2/k3y?id=tok3n#frag-secret';

  it('puts the display form in place of the URL in every form a library prints it', () => {
    const forms = [url, new URL(url).href, 'wss://node.example.com/v2/k3y?id=tok3n', 'wss://alice:hunter22@node.example.com/v2/k3y?id=tok3n'];
    for (const form of forms) expect(redactText(`Invalid URL: ${form}!`, url)).toBe('Invalid URL: wss://node.example.com/***!');
  });

  it('hides every secret wherever it appears', () => {
    const text = redactText('user alice, pw hunter22, key k3y, id tok3n, frag frag-secret, host node.example.com', url);
    expect(text).not.toMatch(/alice|hunter22|k3y|tok3n|frag-secret/);
    expect(text).toContain('node.example.com');
  });

  it('hides header values of the endpoint', () => {
    const endpoint = { url: 'https://eth.example.com/', headers: { authorization: 'Bearer s3cr3t' } };
    expect(redactText('Headers.append: "Bearer s3cr3t\\n" is an invalid header value', endpoint)).not.toContain('s3cr3t');
  });

  it('with revealPath, keeps the path in the display form', () => {
    const text = redactText('GET https://eth.example.com/v2/mainnet?key=tok3n failed', 'https://eth.example.com/v2/mainnet?key=tok3n', { revealPath: true });
    expect(text).toBe('GET https://eth.example.com/v2/mainnet?*** failed');
  });
});
