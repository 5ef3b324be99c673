/**
 * `text` as UTF-8, then base64: the form `Authorization: Basic` gives userinfo. Built on `btoa`
 * (browsers, workers, Node ≥ 16) rather than `Buffer`, which only Node has.
 */
export function utf8Base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}
