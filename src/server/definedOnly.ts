/** `options` without the members set to `undefined`: spread over defaults, such a member keeps the default, as leaving it out does. */
export function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
