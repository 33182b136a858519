// DNS rebinding and cross-site protection for every bind: the Host allow-list (wildcard binds included,
// --allowed-host) and the Origin check on state-changing requests.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { allowedHostsFor } from '../../src/server/server.js';
import { smallRequest, testServer, type TestServer } from './helpers.js';

let server: TestServer;
before(async () => {
  server = await testServer({ host: '0.0.0.0', allowedHosts: ['tdd.example.org', 'Proxy.Example:8443'] });
});
after(() => server.stop());

function raw(
  path: string,
  { method = 'GET', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method, headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('Host and Origin checks', () => {
  test('a wildcard bind still refuses a foreign Host (DNS rebinding), with a JSON message', async () => {
    for (const host of ['evil.example', `evil.example:${server.port}`, '1.2.3.4']) {
      const res = await raw('/api/models', { headers: { Host: host } });
      assert.equal(res.status, 403, host);
      assert.match(res.body.message, /is not this server/);
    }
  });

  test("a wildcard bind accepts --allowed-host names, localhost and the machine's addresses", async () => {
    for (const host of [
      'tdd.example.org',
      `TDD.example.org:${server.port}`,
      'proxy.example',
      `localhost:${server.port}`,
      '127.0.0.1',
      ...server.allowedHosts.filter((h) => h !== 'localhost'),
    ]) {
      const res = await raw('/api/health', { headers: { Host: host } });
      assert.equal(res.status, 200, host);
    }
  });

  test('a specific bind accepts its own address, and names the machine (wildcard: every interface address)', () => {
    const own = allowedHostsFor('192.0.2.7');
    assert.ok(own.has('192.0.2.7') && own.has('localhost') && !own.has('evil.example'));
    assert.ok(allowedHostsFor('::1').has('[::1]'));
    assert.ok(allowedHostsFor('fe80::1').has('[fe80::1]'));
    assert.ok(allowedHostsFor('0.0.0.0').has('0.0.0.0'), 'the bound address (cross-site requests to it still need an allowed Origin)');
    assert.ok(allowedHostsFor('0.0.0.0', ['a.example']).has('a.example'));
  });

  test('state-changing requests with a foreign Origin get 403; absent or allowed Origin pass', async () => {
    const body = JSON.stringify(smallRequest({ steps: 1 }));
    const json = { 'Content-Type': 'application/json', Host: `localhost:${server.port}` };
    const foreign = await raw('/api/generate', { method: 'POST', headers: { ...json, Origin: 'http://evil.example' }, body });
    assert.equal(foreign.status, 403);
    assert.match(foreign.body.message, /Origin "http:\/\/evil.example" may not change/);
    const nullOrigin = await raw('/api/generate', { method: 'POST', headers: { ...json, Origin: 'null' }, body });
    assert.equal(nullOrigin.status, 403);
    const del = await raw('/api/jobs/nope', { method: 'DELETE', headers: { Host: 'localhost', Origin: 'https://evil.example' } });
    assert.equal(del.status, 403);
    const read = await raw('/api/models', { headers: { Host: 'localhost', Origin: 'http://evil.example' } });
    assert.equal(read.status, 200, 'reads are not state-changing (and CORS keeps their bodies from the other site)');
    for (const headers of [json, { ...json, Origin: `http://localhost:${server.port}` }, { ...json, Origin: 'https://tdd.example.org' }]) {
      const res = await raw('/api/generate', { method: 'POST', headers, body });
      assert.equal(res.status, 202, JSON.stringify(headers));
    }
  });
});
