import { inspect } from 'node:util';

/**
 * Credentials of many shapes, planted in node URLs and endpoint headers by the secrets tests. Each
 * is distinctive, so finding one in a text means it leaked (never that a word happened to match).
 */
export const PLANTED = Object.freeze({
  user: 'usr-alice',
  password: 'pw-hunter22',
  pathKey: 'SECRETKEY',
  shortPathKey: 'k3y',
  queryValue: 'tok3n',
  fragment: 'frag-secret',
  bearer: 's3cr3t',
  apiKey: 'xk-l1ve-9f8e',
  /** Written percent-encoded in the URL (`p%40ss%2Fw0rd`): may leak as written or decoded. */
  encodedKey: 'p@ss/w0rd',
});

/** `user:password@`, as planted in URLs. */
export const USERINFO = `${PLANTED.user}:${PLANTED.password}@`;
/** Path, query and fragment with a long key, a short key, an innocent query name and a fragment. */
export const SECRET_TAIL = `/v2/${PLANTED.pathKey}/${PLANTED.shortPathKey}?id=${PLANTED.queryValue}#${PLANTED.fragment}`;
/** A path key that is written percent-encoded. */
export const ENCODED_TAIL = `/${encodeURIComponent(PLANTED.encodedKey)}`;
/** Headers an endpoint function returns. */
export const SECRET_HEADERS = Object.freeze({ authorization: `Bearer ${PLANTED.bearer}`, 'x-api-key': PLANTED.apiKey });

/** Every form a planted secret may take in a text: as planted, percent-encoded, and Basic auth. */
const FORMS = [
  ...Object.values(PLANTED).flatMap((s) => [s, encodeURIComponent(s), encodeURIComponent(s).toLowerCase()]),
  Buffer.from(`${PLANTED.user}:${PLANTED.password}`).toString('base64'),
];

/** The planted secrets that appear in `text` (empty when none does). */
export function leaksIn(text: string): string[] {
  return [...new Set(FORMS.filter((form) => text.includes(form)))];
}

/** A value as a person or a logger would see it: `util.inspect` (causes included) and JSON. */
export function render(value: unknown): string {
  const texts = [inspect(value, { depth: 12, showHidden: false })];
  try {
    texts.push(JSON.stringify(value) ?? '');
  } catch {
    // Circular values are covered by inspect.
  }
  if (value instanceof Error) texts.push(String(value), value.toString(), value.message, value.stack ?? '');
  return texts.join('\n');
}

/** Records every event an emitter emits, rendered, under `label`. */
export function recordEvents(emitter: { emit: unknown }, label: string, into: string[]): void {
  type Emit = (event: string, ...args: unknown[]) => boolean;
  const emit = (emitter.emit as Emit).bind(emitter);
  (emitter as { emit: Emit }).emit = (event, ...args) => {
    into.push(`${label}.${event}: ${render(args)}`);
    return emit(event, ...args);
  };
}
