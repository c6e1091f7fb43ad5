// A run's live events: Server-Sent Events read with fetch and parsed here, because EventSource
// cannot send the token header. Each event's id is its sequence number; after a dropped or ended
// connection the reader reconnects with Last-Event-ID, so it gets every later event exactly once.
import { api, ApiError, sleep } from './common.js';

/**
 * Follows {path} until the server sends `event: end` (or 204: nothing more will come).
 * handlers: onEvent(data, id), onEnd(summary|null), onState('live'|'reconnecting'|'ended'), onFatal(ApiError).
 * Returns a function that stops following.
 */
export function followEvents(path, handlers) {
  let lastEventId = null;
  let retryMs = 2000;
  let stopped = false;
  let controller = null;

  const run = async () => {
    let failures = 0;
    while (!stopped) {
      controller = new AbortController();
      try {
        const headers = lastEventId === null ? {} : { 'Last-Event-ID': lastEventId };
        const response = await api(path, { accept: 'text/event-stream', headers, signal: controller.signal });
        if (response.status === 204) {
          finish(null);
          return;
        }
        handlers.onState?.('live');
        failures = 0;
        if (await read(response.body)) return;
      } catch (error) {
        if (stopped) return;
        // A client error (bad or out-of-scope token, no such run) will not heal by retrying.
        if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429) {
          handlers.onFatal?.(error);
          return;
        }
        failures++;
      }
      if (stopped) return;
      handlers.onState?.('reconnecting');
      await sleep(failures === 0 ? retryMs : Math.min(30000, retryMs * 2 ** (failures - 1)));
    }
  };

  const finish = summary => {
    stopped = true;
    handlers.onState?.('ended');
    handlers.onEnd?.(summary);
  };

  /** Reads one response; true when the stream is over for good (`event: end`). */
  const read = async body => {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let type = '', data = [], id = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        if (line === '') {
          // Dispatch, as EventSource does: the id is remembered even for events this page ignores.
          if (id !== null) lastEventId = id;
          if (data.length > 0) {
            const text = data.join('\n');
            if (type === 'end') {
              let summary = null;
              try { summary = JSON.parse(text); } catch { /* keep null */ }
              reader.cancel().catch(() => {});
              finish(summary);
              return true;
            }
            if (type === 'progress' || type === '') {
              handlers.onEvent?.(JSON.parse(text), id);
            }
          }
          type = ''; data = []; id = null;
          continue;
        }
        if (line.startsWith(':')) continue; // a heartbeat comment
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const fieldValue = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') type = fieldValue;
        else if (field === 'data') data.push(fieldValue);
        else if (field === 'id') id = fieldValue;
        else if (field === 'retry' && /^\d+$/.test(fieldValue)) retryMs = Number(fieldValue);
      }
    }
  };

  run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
