const SECRET_PARAM = /(key|token|secret|auth|pass|signature|sig|credential|session)/i;
const LONG_OPAQUE = /^[A-Za-z0-9_-]{20,}$/;

/**
 * Strips credentials from a URL before it reaches a message, an event or a log: userinfo is
 * dropped, query values whose name looks like a key (or whose value looks like one) are replaced,
 * and path segments that look like an API key (long opaque tokens, as many providers use:
 * `https://eth.example.com/v2/<key>`) are masked.
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '<invalid url>';
  }
  url.username = '';
  url.password = '';
  for (const [name, value] of [...url.searchParams]) {
    if (SECRET_PARAM.test(name) || LONG_OPAQUE.test(value)) url.searchParams.set(name, 'redacted');
  }
  url.pathname = url.pathname
    .split('/')
    .map((segment) => (LONG_OPAQUE.test(segment) ? 'redacted' : segment))
    .join('/');
  return url.toString().replaceAll('redacted', '***');
}

/** The parts of a URL that must never be shown: userinfo, key-like query values and path segments. */
export function secretsOf(raw: string): string[] {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw.length > 0 ? [raw] : [];
  }
  const secrets = [url.username, url.password, decodeURIComponent(url.username), decodeURIComponent(url.password)];
  for (const [name, value] of url.searchParams) {
    if (SECRET_PARAM.test(name) || LONG_OPAQUE.test(value)) secrets.push(value);
  }
  for (const segment of url.pathname.split('/')) if (LONG_OPAQUE.test(segment)) secrets.push(segment);
  return [...new Set(secrets.filter((s) => s.length >= 3))].sort((a, b) => b.length - a.length);
}

/** Replaces every secret of `url` that appears in `text` with `***`. */
export function redactText(text: string, url: string): string {
  let out = text.split(url).join(redactUrl(url));
  for (const secret of secretsOf(url)) out = out.split(secret).join('***');
  return out;
}
