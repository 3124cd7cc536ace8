/** Names of resources: lowercase letters, digits and '-', starting with a letter or digit. */
export const slugPattern = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
export const slugRule = "lowercase letters, digits, '-', max 32";

export function isSlug(value: unknown): value is string {
  return typeof value === 'string' && slugPattern.test(value);
}
