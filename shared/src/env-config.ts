/** A network address to listen on or connect to. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Thrown before start-up when a variable has a bad value; names every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

const addressPattern = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/;

export function parseAddress(value: string): Address | undefined {
  const match = addressPattern.exec(value.trim());
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: match[1] ?? match[2] ?? '', port };
}

export function formatAddress(address: Address): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/**
 * Reads variables, applies defaults and collects every problem, so that one start-up
 * attempt reports all bad variables at once. Call `done()` to throw if any was bad.
 */
export class EnvReader {
  private readonly problems: string[] = [];
  private readonly env: Env;
  constructor(env: Env) {
    this.env = env;
  }

  string(name: string, fallback: string): string {
    const raw = this.env[name];
    return raw === undefined || raw === '' ? fallback : raw;
  }

  optional(name: string): string | undefined {
    const raw = this.env[name];
    return raw === undefined || raw === '' ? undefined : raw;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name}: "${raw}" is not a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    this.problems.push(`${name}: "${raw}" is not true or false`);
    return fallback;
  }

  address(name: string, fallback: string): Address {
    const raw = this.string(name, fallback);
    const address = parseAddress(raw);
    if (address === undefined) {
      this.problems.push(`${name}: "${raw}" is not host:port (port 0-65535)`);
      return parseAddress(fallback) ?? { host: '127.0.0.1', port: 0 };
    }
    return address;
  }

  addressList(name: string, fallback: string): Address[] {
    const raw = this.string(name, fallback);
    const addresses: Address[] = [];
    for (const part of raw.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      const address = parseAddress(part);
      if (address === undefined || address.port === 0) {
        this.problems.push(`${name}: "${part}" is not host:port (port 1-65535)`);
      } else {
        addresses.push(address);
      }
    }
    if (addresses.length === 0 && !this.problems.some((p) => p.startsWith(`${name}:`))) {
      this.problems.push(`${name}: "${raw}" names no controller (comma-separated host:port)`);
    }
    return addresses;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.string(name, fallback);
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name}: "${raw}" is not one of ${allowed.join(', ')}`);
    return fallback;
  }

  /** Records a problem found by the caller's own checks. */
  problem(message: string): void {
    this.problems.push(message);
  }

  done(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];
