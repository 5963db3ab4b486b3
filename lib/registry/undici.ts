import type { Dispatcher } from 'undici';

/*
 * The parts of undici the registry client uses (Agent, EnvHttpProxyAgent, request), loaded from
 * their own files on first use (a `layerfs mount` never loads them). undici's index also loads
 * fetch, WebSocket, the cache stores, cookies and the mocks: 26-41 ms of every pull's, push's and
 * login's start, and a pull's main heap was 30 MiB instead of 18 (the young generation grows
 * while so much code loads, and stays grown). The files are those of undici 7 (package.json pins
 * the major version); if a release moves them, the index is loaded instead, so nothing breaks,
 * and test/registry/undici.test.ts fails, naming the file that moved.
 */

type Undici = typeof import('undici');

interface Parts {
  Agent: Undici['Agent'];
  EnvHttpProxyAgent: Undici['EnvHttpProxyAgent'];
  /** undici's request as a dispatcher's method: `this` is the dispatcher */
  dispatcherRequest: (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
}

let parts: Parts | null = null;

function load(): Parts {
  if (parts) return parts;
  try {
    const dispatcher: Undici['Dispatcher'] = require('undici/lib/dispatcher/dispatcher');
    // what undici's index does first: every dispatcher gets the API's methods (a proxy agent's CONNECT is one)
    Object.assign(dispatcher.prototype, require('undici/lib/api'));
    parts = {
      Agent: require('undici/lib/dispatcher/agent'),
      EnvHttpProxyAgent: require('undici/lib/dispatcher/env-http-proxy-agent'),
      dispatcherRequest: dispatcher.prototype.request as Parts['dispatcherRequest'],
    };
  } catch {
    const u: Undici = require('undici');
    parts = { Agent: u.Agent, EnvHttpProxyAgent: u.EnvHttpProxyAgent, dispatcherRequest: u.Dispatcher.prototype.request as Parts['dispatcherRequest'] };
  }
  return parts;
}

/** undici's Agent, loaded on first use */
export function newAgent(opts: ConstructorParameters<Undici['Agent']>[0]): Dispatcher {
  return new (load().Agent)(opts);
}

/** undici's EnvHttpProxyAgent, loaded on first use */
export function newEnvHttpProxyAgent(opts: ConstructorParameters<Undici['EnvHttpProxyAgent']>[0]): Dispatcher {
  return new (load().EnvHttpProxyAgent)(opts);
}

/**
 * A request to `url` through `dispatcher`, as undici's own `request(url, { dispatcher, … })`
 * makes it (origin, path with the query, the method), with no global dispatcher.
 */
export function request(url: URL, opts: Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & { dispatcher: Dispatcher }): Promise<Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = opts;
  return load().dispatcherRequest.call(dispatcher, { ...rest, origin: url.origin, path: url.search ? `${url.pathname}${url.search}` : url.pathname, method: opts.method ?? 'GET' });
}
