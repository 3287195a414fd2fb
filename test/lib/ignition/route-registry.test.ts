import assert from 'node:assert/strict';
import express from 'express';
import supertest from 'supertest';
import { claimRoute, isReceiverRoute, parkedRequests, routeOwner, routeState, vacantRouteHandler, type MiddlewareApp, type RouteHandler } from '../../../lib/ignition';
import { waitFor } from '../../support/wait-for';

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
    await waitFor('the hold to expire', () => routeState(routes, '/late') === 'free');
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

  describe('parking requests while a path changes hands', () => {
    const parking = (maxMs: number) => ({ parks: isReceiverRoute, maxMs });
    /** a parked request is not answered until its path changes (route-states.test.ts) */
    const parked = (routes: MiddlewareApp, path: string, count = 1) => waitFor(`${count} parked on ${path}`, () => parkedRequests(routes, path) === count);

    it('a request in the gap waits and is served by the successor once it opens', async () => {
      const { routes, agent } = newApp();
      const a = claimRoute(routes, '/p', 'a', answer('a'));
      assert.ok(a.ok);
      a.release({ handler: vacantRouteHandler(), ms: 60_000, parking: parking(10_000) });
      const waiting = agent.post('/p/ingest/batch').send([]).then((r) => r);
      await parked(routes, '/p');
      assert.equal((await agent.get('/p/other')).status, 404, 'only the parked routes wait');
      const b = claimRoute(routes, '/p', 'b', answer('b'), [], { parking: parking(10_000) });
      assert.ok(b.ok);
      assert.equal(parkedRequests(routes, '/p'), 1, 'a claimed route waits for open()');
      const late = agent.get('/p/health').then((r) => r);
      await parked(routes, '/p', 2);
      b.open();
      assert.equal((await waiting).text, 'b');
      assert.equal((await late).text, 'b');
      assert.equal((await agent.get('/p/health')).text, 'b', 'open: served at once');
    });

    it('at the deadline a vacancy answers 503 + Retry-After; a path freed meanwhile falls through to 404', async () => {
      const { routes, agent } = newApp();
      const a = claimRoute(routes, '/p', 'a', answer('a'));
      const c = claimRoute(routes, '/q', 'c', answer('c'));
      assert.ok(a.ok && c.ok);
      a.release({ handler: vacantRouteHandler(3), ms: 60_000, parking: parking(150) });
      const started = Date.now();
      const res = await agent.post('/p/ingest').send({});
      assert.equal(res.status, 503);
      assert.equal(res.headers['retry-after'], '3');
      assert.ok(Date.now() - started >= 140);
      const free = c.release({ handler: vacantRouteHandler(), ms: 60_000, parking: parking(10_000) });
      const waiting = agent.get('/q/health').then((r) => r);
      await parked(routes, '/q');
      free();
      assert.equal((await waiting).status, 404);
    });

    it('a claim without parking serves what waited in the vacancy at once', async () => {
      const { routes, agent } = newApp();
      const a = claimRoute(routes, '/p', 'a', answer('a'));
      assert.ok(a.ok);
      a.release({ handler: vacantRouteHandler(), ms: 60_000, parking: parking(10_000) });
      const waiting = agent.get('/p/diagnostics').then((r) => r);
      await parked(routes, '/p');
      claimRoute(routes, '/p', 'b', answer('b'));
      assert.equal((await waiting).text, 'b');
    });
  });
});
