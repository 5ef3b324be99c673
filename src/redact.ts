import { utf8Base64 } from './base64.js';

/** The mask that stands for whatever a display form or a scrubbed text leaves out. */
export const MASK = '***';

/** Anything shorter is not worth hiding, and hiding it would garble every message. */
const MIN_SECRET_LENGTH = 3;

/** How much of a URL its display form shows. */
export interface RedactOptions {
  /**
   * Show the path too (`https://host/v2/main`): for nodes whose path names a network or a route
   * rather than carrying a key. Userinfo, query and fragment stay masked.
   * @default false
   */
  revealPath?: boolean;
}

/**
 * What an endpoint carries that may be a credential: the URL (userinfo, path, query, fragment) and,
 * for endpoints an {@link EndpointSource} function returned, header values and subprotocols.
 */
export interface SecretBearer {
  url: string;
  headers?: Readonly<Record<string, string>>;
  protocols?: readonly string[];
}

/**
 * The display form of a node URL, for messages, events, logs and status pages: scheme, host and
 * port only, and `/***` when anything else was there (path, query, fragment, userinfo), so a
 * provider key in any of them never shows — `https://eth.example.com/v2/KEY?x=1` becomes
 * `https://eth.example.com/***`. With `revealPath`, the path is shown and only the query and
 * fragment are masked (`https://eth.example.com/v2/main?***`); userinfo shows only as `***@`.
 */
export function redactUrl(raw: string, options: RedactOptions = {}): string {
  const url = parse(raw);
  if (url === undefined) return '<invalid url>';
  if (options.revealPath === true) {
    const masked = url.username !== '' || url.password !== '' ? `${MASK}@` : '';
    const query = url.search === '' ? '' : `?${MASK}`;
    const fragment = url.hash === '' ? '' : `#${MASK}`;
    return `${url.protocol}//${masked}${url.host}${url.pathname}${query}${fragment}`;
  }
  const extra = url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || !['', '/'].includes(url.pathname);
  return `${url.protocol}//${url.host}/${extra ? MASK : ''}`;
}

/**
 * Every part of an endpoint that must never be shown, longest first, each as written and
 * percent-decoded and re-encoded (a message may carry either): userinfo (and its Basic-auth form),
 * every path segment (unless `revealPath`), query names and values, the fragment, header values
 * (and each word of them: the token of `Bearer <token>`) and subprotocols. Parts shorter than 3
 * characters are left: they cannot be told from ordinary words. Parts that are also in the scheme,
 * host or port are left too: the display form shows those anyway.
 */
export function secretsOf(endpoint: string | SecretBearer, options: RedactOptions = {}): string[] {
  const { url: raw, headers = {}, protocols = [] } = typeof endpoint === 'string' ? { url: endpoint } : endpoint;
  const parts: string[] = [];
  for (const value of Object.values(headers).map(String)) {
    // fetch quotes an invalid header value with its control characters turned to spaces.
    const printable = value.replace(/[\x00-\x1f\x7f]/g, ' ');
    parts.push(value, printable, ...printable.split(/[\s,;=]+/));
  }
  parts.push(...protocols);
  const url = parse(raw);
  if (url === undefined) {
    // Not a URL: everything after the scheme may be a secret.
    parts.push(raw, ...raw.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split(/[/?#@:&=\s[\]]+/));
    return finish(parts, '');
  }
  const { username, password } = url;
  if (username !== '' || password !== '') {
    parts.push(username, password, `${username}:${password}`, utf8Base64(`${decode(username)}:${decode(password)}`));
  }
  if (options.revealPath !== true) parts.push(...url.pathname.split('/'));
  const search = url.search.slice(1);
  parts.push(search, ...search.split(/[&=]/));
  for (const [name, value] of url.searchParams) parts.push(name, value);
  parts.push(url.hash.slice(1));
  return finish(parts, `${url.protocol}//${url.host}`);
}

/**
 * `text` with the endpoint's URL (in any of the forms a library may print it) replaced by its
 * display form and every one of its {@link secretsOf secrets} replaced by `***`: for messages of
 * other libraries (fetch, ws) that may quote the URL or a header.
 */
export function redactText(text: string, endpoint: string | SecretBearer, options: RedactOptions = {}): string {
  const raw = typeof endpoint === 'string' ? endpoint : endpoint.url;
  // The URL goes out as a placeholder first, so scrubbing the secrets cannot garble its display form.
  const placeholder = '\u0000steadyrpc:url\u0000';
  let out = text;
  for (const form of urlForms(raw)) out = out.split(form).join(placeholder);
  for (const secret of secretsOf(endpoint, options)) out = out.split(secret).join(MASK);
  return out.split(placeholder).join(redactUrl(raw, options));
}

/** The URL as given and as libraries print it: normalised, without userinfo, without fragment. */
function urlForms(raw: string): string[] {
  const forms = [raw];
  const url = parse(raw);
  if (url !== undefined) {
    forms.push(url.href);
    url.hash = '';
    forms.push(url.href);
    url.username = '';
    url.password = '';
    forms.push(url.href);
  }
  return [...new Set(forms.filter((f) => f.length >= MIN_SECRET_LENGTH))].sort((a, b) => b.length - a.length);
}

function finish(parts: string[], shown: string): string[] {
  const variants = parts.flatMap((part) => {
    const decoded = [decode(part), decode(part.replace(/\+/g, ' '))];
    const encoded = decoded.map(encodeURIComponent);
    return [part, ...decoded, ...encoded, ...encoded.map((e) => e.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()))];
  });
  return [...new Set(variants)]
    .filter((s) => s.length >= MIN_SECRET_LENGTH && !shown.includes(s))
    .sort((a, b) => b.length - a.length);
}

function parse(raw: string): URL | undefined {
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
