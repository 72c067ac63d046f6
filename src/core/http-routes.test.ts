import { it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_REQUEST_TIMEOUT_MS, HttpRoutes } from './http-routes.ts';

it('the listeners allow the longest request time a route asks for, never less than the default', () => {
  const routes = new HttpRoutes();
  assert.equal(routes.longestRequestMs(), DEFAULT_REQUEST_TIMEOUT_MS);
  routes.add('a.example', '/account', () => {});
  assert.equal(routes.longestRequestMs(), DEFAULT_REQUEST_TIMEOUT_MS);
  const remove = routes.add('a.example', '/upload', () => {}, { requestTimeoutMs: 900_000 });
  assert.equal(routes.longestRequestMs(), 900_000);
  assert.equal(routes.find('/upload/x/y', ['a.example'])?.prefix, '/upload');
  remove();
  assert.equal(routes.longestRequestMs(), DEFAULT_REQUEST_TIMEOUT_MS);
});
