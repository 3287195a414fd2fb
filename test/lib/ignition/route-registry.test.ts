import assert from 'node:assert/strict';
import express from 'express';
import supertest from 'supertest';
import { claimRoute, routeOwner, vacantRouteHandler, type MiddlewareApp, type RouteHandler } from '../../../lib/ignition';

const answer =
  (text: string): RouteHandler =>
  (_req, res) => {
    res.end(text);
  };

/** An Express app as Node-RED's httpNode; unclaimed paths get Express's 404. */
function newApp() {
  const app = express();
  return { app, routes: app as unknown as MiddlewareApp, agent: supertest(app) };
}

describe('route registry', () => {
  it('hands a released path to a later claim and refuses a second owner while it is held', async () => {
    const { routes, agent } = newApp();
    const a = claimRoute(routes, '/p/', 'a', answer('a'));
    assert.ok(a.ok);
    const b = claimRoute(routes, '/p', 'b', answer('b'));
    assert.deepEqual(b, { ok: false, basePath: '/p', owner: 'a' });
    assert.equal((await agent.get('/p/x')).text, 'a');
    a.release();
    assert.equal((await agent.get('/p/x')).status, 404);
    assert.equal(routeOwner(routes, '/p'), undefined);
  });

  it('holds a released path vacant until a claim takes it, then ends the hold once', async () => {
    const { routes, agent } = newApp();
    const a = claimRoute(routes, '/p', 'a', answer('a'));
    assert.ok(a.ok);
    let ended = 0;
    const free = a.release({ handler: vacantRouteHandler(7), ms: 60_000, onEnd: () => ended++ });
    const held = await agent.post('/p/ingest/batch').send([]);
    assert.equal(held.status, 503);
    assert.equal(held.headers['retry-after'], '7');
    assert.equal(held.body.error, 'closing');
    assert.equal((await agent.get('/p/health')).status, 503);
    assert.equal((await agent.get('/p/other')).status, 404, 'only the receiver routes are held');
    assert.equal(routeOwner(routes, '/p'), undefined, 'nobody owns a held path');
    // any node may take a held path (a redeployed node may come back under another id)
    const b = claimRoute(routes, '/p', 'b', answer('b'));
    assert.ok(b.ok);
    assert.equal(ended, 1);
    free(); // late: must not remove the new owner's route
    assert.equal(ended, 1);
    assert.equal((await agent.get('/p/ingest')).text, 'b');
  });

  it('frees a held path when told to, or at the latest when the hold expires', async () => {
    const { routes, agent } = newApp();
    const a = claimRoute(routes, '/early', 'a', answer('a'));
    const b = claimRoute(routes, '/late', 'b', answer('b'));
    assert.ok(a.ok && b.ok);
    const ends: string[] = [];
    const freeEarly = a.release({ handler: vacantRouteHandler(), ms: 60_000, onEnd: () => ends.push('early') });
    b.release({ handler: vacantRouteHandler(), ms: 150, onEnd: () => ends.push('late') });
    assert.equal((await agent.get('/late/health')).status, 503);
    freeEarly();
    freeEarly();
    assert.equal((await agent.get('/early/health')).status, 404);
    assert.equal((await agent.get('/late/health')).status, 503);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await agent.get('/late/health')).status, 404);
    assert.deepEqual(ends, ['early', 'late']);
  });

  it('runs the old route middleware (CORS, httpNodeMiddleware) for a held path too', async () => {
    const { routes, agent } = newApp();
    const a = claimRoute(routes, '/p', 'a', answer('a'), [
      (_req, res, next) => {
        res.setHeader('X-Route-Middleware', 'yes');
        next();
      },
    ]);
    assert.ok(a.ok);
    const free = a.release({ handler: vacantRouteHandler(), ms: 60_000 });
    const res = await agent.get('/p/health');
    assert.equal(res.status, 503);
    assert.equal(res.headers['x-route-middleware'], 'yes');
    free();
  });
});
