import { CausewayError, type ErrorCode, type ErrorDetail } from '@causeway/shared';

export interface AdminClientOptions {
  readonly url: string;
  readonly token: string;
  /** Sent as `Causeway-Org`: the org a system administrator acts in. */
  readonly org?: string | undefined;
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
  private readonly org: string | undefined;

  constructor(options: AdminClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.token = options.token;
    this.org = options.org;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<AdminResponse<T>> {
    const answer = await this.exchange<unknown>(method, path, body);
    if (answer.status < 200 || answer.status > 299) {
      const error = (answer.body as { error?: { code?: ErrorCode; message?: string; details?: ErrorDetail[] } } | undefined)?.error;
      throw new CausewayError(error?.code ?? 'internal', error?.message ?? `HTTP ${answer.status}`, { details: error?.details ?? [] });
    }
    return answer as AdminResponse<T>;
  }

  /** The answer whatever its status: for the commands that show more of an error answer than its message. */
  async exchange<T>(method: string, path: string, body?: unknown): Promise<AdminResponse<T>> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(this.org === undefined ? {} : { 'causeway-org': this.org }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new CausewayError('unavailable', `cannot reach the controller at ${this.base} (set CAUSEWAY_URL)`, { cause: error });
    }
    const text = await response.text();
    const parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    return { status: response.status, body: parsed as T, headers: response.headers };
  }
}
