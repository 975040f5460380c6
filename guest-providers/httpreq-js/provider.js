// An acmebox DNS-01 provider for lego's `httpreq` protocol, written in JavaScript and built
// into a wasm component with componentize-js.
//
// The operator runs an HTTP endpoint that places and removes TXT records; this provider tells
// it what to do:
//
// * present: `POST <endpoint>/present` with `{"fqdn": "_acme-challenge.example.com.", "value": "..."}`
// * cleanup: `POST <endpoint>/cleanup` with the same body
//
// Any 2xx answer is success. `fetch` goes out through `wasi:http/outgoing-handler`, so the
// host's allow list and limits apply to every request.

import { get } from 'acmebox:provider/config@0.1.0';
import { log } from 'acmebox:provider/log@0.1.0';

const VERSION = '0.1.0';

// The same defaults lego's httpreq provider uses.
const PROPAGATION_TIMEOUT_SECS = 60;
const POLLING_INTERVAL_SECS = 2;

// How much of an error body reaches the operator.
const ERROR_BODY_CHARS = 300;

export const metadata = {
  describe() {
    // No request here: the origin is known only when the operator set `endpoint`.
    const endpoint = get('endpoint');
    const hosts = [];
    if (endpoint !== undefined) {
      const found = origin(endpoint);
      if (found !== undefined) hosts.push(found);
    }
    return {
      name: 'httpreq',
      version: VERSION,
      description: "TXT records through an HTTP endpoint speaking lego's httpreq protocol",
      configKeys: [
        key('endpoint', 'the base URL of the endpoint; the provider POSTs to <endpoint>/present and <endpoint>/cleanup', true),
        key('mode', 'empty for {fqdn, value} bodies; RAW (token and key authorization) is not available in acmebox', false),
        key('username', 'HTTP basic auth user name (with password)', false),
        key('password', 'HTTP basic auth password (with username)', false, true),
      ],
      hosts,
      propagationTimeoutSecs: PROPAGATION_TIMEOUT_SECS,
      pollingIntervalSecs: POLLING_INTERVAL_SECS,
      sequential: false,
    };
  },
};

export const dnsProvider = {
  async present(record) {
    await call('present', record);
  },
  async cleanup(record) {
    await call('cleanup', record);
  },
};

// One httpreq call: `action` is `present` or `cleanup`.
async function call(action, record) {
  const settings = settingsFromConfig();
  const url = `${settings.endpoint}/${action}`;
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (settings.authorization !== undefined) headers.authorization = settings.authorization;
  const body = JSON.stringify({ fqdn: absolute(record.fqdn), value: record.value });

  log('info', `${action}: POST ${url} for ${absolute(record.fqdn)}`);
  let response;
  try {
    response = await fetch(url, { method: 'POST', headers, body, redirect: 'manual' });
  } catch (err) {
    fail('transport-error', `POST ${url} did not complete: ${describeError(err)}`);
  }
  const text = await readText(response);
  if (response.status >= 200 && response.status < 300) return;

  const message = errorMessage(response.status, text);
  if (response.status === 401 || response.status === 403) {
    fail('unauthorized', `the endpoint answered ${response.status}: ${message}; check \`username\` and \`password\``);
  }
  if (response.status === 429) {
    fail('rate-limited', retryAfter(response.headers.get('retry-after')));
  }
  fail('api-error', { status: response.status, message });
}

// The config, checked: the endpoint without a trailing slash and the Authorization header.
function settingsFromConfig() {
  const raw = get('endpoint');
  if (raw === undefined || raw.trim() === '') {
    fail('invalid-config', 'config key `endpoint` is not set: give the base URL of the httpreq endpoint, such as https://dns-hook.example.com');
  }
  const endpoint = raw.trim().replace(/\/+$/, '');
  if (origin(endpoint) === undefined) {
    fail('invalid-config', `config key \`endpoint\` (${endpoint}) is not an http:// or https:// URL without credentials in it`);
  }

  const mode = (get('mode') ?? '').trim();
  if (mode.toUpperCase() === 'RAW') {
    fail('invalid-config', 'config key `mode` is RAW, but raw mode needs the ACME token and key authorization, which acmebox never hands to a provider (it passes only the record name and value); leave `mode` unset');
  }
  if (mode !== '') {
    fail('invalid-config', `config key \`mode\` (${mode}) is not supported: leave it unset`);
  }

  const username = get('username');
  const password = get('password');
  if ((username === undefined) !== (password === undefined)) {
    fail('invalid-config', 'config keys `username` and `password` go together: set both for basic auth, or neither');
  }
  let authorization;
  if (username !== undefined) {
    authorization = `Basic ${btoa(utf8Binary(`${username}:${password}`))}`;
  }
  return { endpoint, authorization };
}

function key(name, description, required, secret = false) {
  return { name, description, required, secret };
}

// Fails the current call with `provider-error` case `tag`.
function fail(tag, val) {
  throw { tag, val };
}

// `scheme://host[:port]` of an http(s) URL, as an allow-list entry, or undefined.
function origin(text) {
  let url;
  try {
    url = new URL(text.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '' || url.host === '') return undefined;
  return `${url.protocol}//${url.host}`;
}

// `name` with exactly one trailing dot.
function absolute(name) {
  return `${name.trim().replace(/\.+$/, '')}.`;
}

// The body as text; an unreadable body is an empty one.
async function readText(response) {
  try {
    return await response.text();
  } catch {
    return '';
  }
}

// The start of the body, else the status.
function errorMessage(status, text) {
  const trimmed = text.trim();
  if (trimmed === '') return `HTTP ${status} with an empty body`;
  return Array.from(trimmed).slice(0, ERROR_BODY_CHARS).join('');
}

// Retry-After in seconds, when it is a number.
function retryAfter(header) {
  if (header === null) return undefined;
  const seconds = Number.parseInt(header.trim(), 10);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 0xffffffff) return undefined;
  return seconds;
}

function describeError(err) {
  if (err instanceof Error) return err.cause ? `${err.message} (${err.cause})` : err.message;
  return String(err);
}

// The UTF-8 bytes of `text` as a binary string, for btoa.
function utf8Binary(text) {
  return Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join('');
}
