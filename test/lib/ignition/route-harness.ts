/**
 * The route tests' HTTP app without sockets: requests are plain objects, each records who
 * answered it (a handler's name, or 'fell through' when the dispatcher called next), so that the
 * route states can be driven on fake timers.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import sinon from 'sinon';
import type { Middleware, MiddlewareApp, RouteHandler } from '../../../lib/ignition';

export interface SentRequest {
  /** who answered, in order (more than one would be a defect) */
  answers: string[];
  /** what ran before the answer: names of the route middleware */
  middleware: string[];
  /** headers set by the answer */
  headers: Record<string, string>;
  /** the client gives up (its response closes) */
  abort(): void;
}

/** Records handler answers, and what a handler writing a real response (a 503) sends. */
class RecordingResponse extends EventEmitter {
  readonly answers: string[] = [];
  readonly middleware: string[] = [];
  readonly headers: Record<string, string> = {};
  statusCode = 200;
  setHeader(name: string, value: unknown): void {
    this.headers[name.toLowerCase()] = String(value);
  }
  end(): void {
    this.answers.push(String(this.statusCode));
  }
}

export class FakeApp implements MiddlewareApp {
  private readonly stack: Middleware[] = [];

  use(fn: Middleware): unknown {
    this.stack.push(fn);
    return this;
  }

  /** Sends a request for `path`; what answers it is recorded on the returned object. */
  request(path: string): SentRequest {
    const res = new RecordingResponse();
    const req = { url: path, method: 'POST' } as IncomingMessage;
    let i = 0;
    const next = (err?: unknown) => {
      if (err) return void res.answers.push(`error: ${String(err)}`);
      const layer = this.stack[i++];
      if (!layer) return void res.answers.push('fell through');
      layer(req, res as unknown as ServerResponse, next);
    };
    next();
    return { answers: res.answers, middleware: res.middleware, headers: res.headers, abort: () => res.emit('close') };
  }

  /** How many dispatchers were added to the app. */
  get layers(): number {
    return this.stack.length;
  }
}

/** A handler that answers with its name and the sub-path it was given. */
export function answer(name: string): RouteHandler {
  return (_req, res, _next, subPath) => {
    (res as unknown as RecordingResponse).answers.push(`${name}${subPath}`);
  };
}

/** A route middleware that notes that it ran. */
export function noting(name: string): Middleware {
  return (_req, res, next) => {
    (res as unknown as RecordingResponse).middleware.push(name);
    next();
  };
}

/** Fake timers for setTimeout only: unparking uses setImmediate, which `settle()` lets run. */
export function fakeClock(): sinon.SinonFakeTimers {
  return sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
}

/** Lets the requests that a state change routed again (on setImmediate) be dispatched. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
