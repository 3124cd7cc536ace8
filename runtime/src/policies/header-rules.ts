import { templatePattern, type HeaderPolicy } from '@causeway/shared';

/** What a header value template may name. */
export interface TemplateValues {
  readonly requestId: string;
  readonly claims: Readonly<Record<string, unknown>> | undefined;
  /** The consumer of the request's API key ('' without an apiKey policy). */
  readonly consumer: string;
}

type Part = string | ((values: TemplateValues) => string);

function claimText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Splits a value into literal text and variables, once, when the config is applied. */
function compile(template: string): readonly Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const match of template.matchAll(templatePattern)) {
    parts.push(template.slice(last, match.index));
    const variable = match[1] ?? '';
    if (variable === 'requestId') parts.push((v) => v.requestId);
    else if (variable === 'consumer') parts.push((v) => v.consumer);
    else {
      const claim = variable.slice('jwt.'.length);
      parts.push((v) => claimText(v.claims?.[claim]));
    }
    last = match.index + match[0].length;
  }
  parts.push(template.slice(last));
  return parts.filter((p) => p !== '');
}

function render(parts: readonly Part[], values: TemplateValues): string {
  let text = '';
  for (const part of parts) text += typeof part === 'string' ? part : part(values);
  // A header value never carries a line break, whatever a claim holds.
  return text.replace(/[\r\n]/g, ' ');
}

/**
 * `set`, `add` and `remove` of one direction, compiled: on a flat name/value list, the
 * names set or removed (and `extraRemoved`, such as the headers claims are forwarded in)
 * are dropped, then `set` and `add` values are appended. A value that renders empty (a
 * claim the token lacks) is not sent.
 */
export class HeaderRules {
  private readonly dropped: ReadonlySet<string>;
  private readonly appended: readonly (readonly [string, readonly Part[]])[];

  constructor(policy: HeaderPolicy | undefined, extraRemoved: readonly string[] = []) {
    this.dropped = new Set([...(policy?.remove ?? []), ...Object.keys(policy?.set ?? {}), ...extraRemoved]);
    this.appended = [...Object.entries(policy?.set ?? {}), ...Object.entries(policy?.add ?? {})].map(([name, value]) => [name, compile(value)] as const);
  }

  get empty(): boolean {
    return this.dropped.size === 0 && this.appended.length === 0;
  }

  apply(flat: string[], values: TemplateValues): string[] {
    const out: string[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i] ?? '';
      if (!this.dropped.has(name.toLowerCase())) out.push(name, flat[i + 1] ?? '');
    }
    for (const [name, parts] of this.appended) {
      const value = render(parts, values);
      if (value !== '') out.push(name, value);
    }
    return out;
  }
}
