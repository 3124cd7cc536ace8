import { CausewayError, type ErrorCode, type ErrorDetail } from '@causeway/shared';

export interface AdminClientOptions {
  readonly url: string;
  readonly token: string;
}

export interface AdminResponse<T> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

/** A small client of the admin REST API, for the CLI and the dev stack. */
export class AdminClient {
  private readonly base: string;
  private readonly token: string;

  constructor(options: AdminClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.token = options.token;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<AdminResponse<T>> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new CausewayError('unavailable', `cannot reach the controller at ${this.base} (set CAUSEWAY_URL)`, { cause: error });
    }
    const text = await response.text();
    const parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    if (!response.ok) {
      const error = (parsed as { error?: { code?: ErrorCode; message?: string; details?: ErrorDetail[] } } | undefined)?.error;
      throw new CausewayError(error?.code ?? 'internal', error?.message ?? `HTTP ${response.status}`, { details: error?.details ?? [] });
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }
}
