import { useEffect, useState } from 'preact/hooks';
import { authHeaders, messageOf, type Schemas, type Session } from '../api.ts';

type Status = Schemas['DeploymentStatus'];

/** After a stream ends by itself (it lasts at most 10 minutes), the next one opens this soon; after a failure, later. */
const REOPEN_MS = 500;
const RETRY_MS = 5_000;

interface StatusEvents {
  readonly data: Status | undefined;
  readonly error: string | undefined;
}

/** `event: NAME` and the joined `data:` lines of one server-sent event. */
function parseEvent(frame: string): { event: string; data: string } {
  let event = 'message';
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  return { event, data: data.join('\n') };
}

/** Reads one stream to its end, handing each event on. A fetch, not an EventSource: it carries the token in a header. */
async function readStream(session: Session, api: string, signal: AbortSignal, onEvent: (event: string, data: string) => void): Promise<void> {
  const response = await fetch(`/v1/apis/${encodeURIComponent(api)}/status/events`, { headers: { ...authHeaders(session), accept: 'text/event-stream' }, signal });
  if (!response.ok || response.body === null) {
    const body = (await response.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
    throw new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const { event, data } = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (data !== '') onEvent(event, data);
    }
  }
}

/** An API's deployment status as the controller streams it: each runtime's answer shows as it comes. */
export function useStatusEvents(session: Session, api: string): StatusEvents {
  const [data, setData] = useState<Status | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onEvent = (event: string, text: string): void => {
      const json = JSON.parse(text) as Status & { error?: { message?: string } };
      if (event === 'error') {
        setError(json.error?.message ?? 'the status stream failed');
      } else if (event === 'status') {
        setData(json);
        setError(undefined);
      }
    };
    const open = (): void => {
      readStream(session, api, abort.signal, onEvent).then(
        () => {
          if (!abort.signal.aborted) timer = setTimeout(open, REOPEN_MS);
        },
        (e: unknown) => {
          if (abort.signal.aborted) return;
          setError(messageOf(e));
          timer = setTimeout(open, RETRY_MS);
        },
      );
    };
    open();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [session, api]);
  return { data, error };
}
