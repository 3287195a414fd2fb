/**
 * The per-path hand-over states (lib/ignition/route-path.ts), state by state, on fake timers:
 * free, opening, open, vacant, reserved, and the moves between them.
 */
import assert from 'node:assert/strict';
import type sinon from 'sinon';
import { claimRoute, isReceiverRoute, parkedRequests, reserveRoute, routeOwner, routeServes, routeState, type Claim } from '../../../lib/ignition';
import { MAX_PARKED } from '../../../lib/ignition/route-path';
import { answer, FakeApp, fakeClock, noting, settle } from './route-harness';

const PARK_MS = 5_000;
const parking = { parks: isReceiverRoute, maxMs: PARK_MS };
const hold = (extra: { ms?: number; onEnd?: () => void; parked?: boolean } = {}) => ({
  handler: answer('held'),
  ms: extra.ms ?? 30_000,
  onEnd: extra.onEnd,
  parking: extra.parked === false ? undefined : parking,
});

function taken(claim: Claim): Extract<Claim, { ok: true }> {
  assert.ok(claim.ok, `claim refused: ${JSON.stringify(claim)}`);
  return claim;
}

/** A path held without parking: nobody owns it, the hold answers at once after the middleware. */
function assertHeldAnswering(app: FakeApp, state: 'vacant' | 'reserved', subPath: string): void {
  assert.equal(routeState(app, '/p'), state);
  assert.equal(routeOwner(app, '/p'), undefined);
  const served = app.request(`/p${subPath}`);
  assert.deepEqual(served.answers, [`held${subPath}`]);
  assert.deepEqual(served.middleware, ['cors']);
}

describe('route states', () => {
  let clock: sinon.SinonFakeTimers;
  let app: FakeApp;
  beforeEach(() => {
    clock = fakeClock();
    app = new FakeApp();
  });
  afterEach(() => clock.restore());

  describe('free', () => {
    it('is where every path starts: its requests fall through', () => {
      assert.equal(routeState(app, '/p'), 'free');
      claimRoute(app, '/other', 'a', answer('a'));
      assert.deepEqual(app.request('/p/ingest').answers, ['fell through']);
    });

    it('a claim without parking opens at once; one dispatcher per app however many paths', () => {
      taken(claimRoute(app, '/p/', 'a', answer('a')));
      taken(claimRoute(app, '/q', 'b', answer('b')));
      assert.equal(routeState(app, '/p'), 'open');
      assert.equal(routeOwner(app, '/p'), 'a');
      assert.deepEqual(app.request('/p/ingest').answers, ['a/ingest']);
      assert.equal(app.layers, 1);
    });

    it('routeServes: a path under a base path held in any state is served here, others are not', () => {
      assert.equal(routeServes(app, '/p/ingest'), false);
      taken(claimRoute(app, '/p', 'a', answer('a'), [], { parking }));
      reserveRoute(app, '/r', hold());
      taken(claimRoute(app, '/v', 'v', answer('v'))).release(hold());
      for (const path of ['/p', '/p/', '/p/ingest/batch', '/r/health', '/v/x/y']) assert.equal(routeServes(app, path), true, path);
      for (const path of ['/', '/px', '/q/ingest']) assert.equal(routeServes(app, path), false, path);
    });

    it('the longest base path wins', () => {
      taken(claimRoute(app, '/p', 'a', answer('a')));
      taken(claimRoute(app, '/p/q', 'b', answer('b')));
      assert.deepEqual(app.request('/p/q/health').answers, ['b/health']);
      assert.deepEqual(app.request('/p/qx/health').answers, ['a/qx/health']);
    });
  });

  describe('opening', () => {
    it('parks the receiver routes until open(), serves other sub-paths at once', async () => {
      const a = taken(claimRoute(app, '/p', 'a', answer('a'), [], { parking }));
      assert.equal(routeState(app, '/p'), 'opening');
      assert.equal(routeOwner(app, '/p'), 'a');
      const parked = app.request('/p/ingest/batch');
      assert.deepEqual(app.request('/p/other').answers, ['a/other']);
      assert.deepEqual(parked.answers, []);
      assert.equal(parkedRequests(app, '/p'), 1);
      a.open();
      assert.equal(routeState(app, '/p'), 'open');
      assert.equal(parkedRequests(app, '/p'), 0);
      await settle();
      assert.deepEqual(parked.answers, ['a/ingest/batch']);
      assert.deepEqual(app.request('/p/health').answers, ['a/health'], 'open: served at once');
    });

    it('a parked request is served by its owner at the deadline, even if it never opens', () => {
      taken(claimRoute(app, '/p', 'a', answer('a'), [], { parking }));
      const parked = app.request('/p/ingest');
      clock.tick(PARK_MS - 1);
      assert.deepEqual(parked.answers, []);
      clock.tick(1);
      assert.deepEqual(parked.answers, ['a/ingest']);
      assert.equal(routeState(app, '/p'), 'opening');
    });

    it('parks at most MAX_PARKED requests; beyond that they are served at once', () => {
      taken(claimRoute(app, '/p', 'a', answer('a'), [], { parking }));
      const requests = Array.from({ length: MAX_PARKED + 1 }, () => app.request('/p/ingest'));
      assert.equal(requests.filter((r) => r.answers.length === 0).length, MAX_PARKED);
      assert.deepEqual(requests[MAX_PARKED].answers, ['a/ingest']);
    });

    it('a client that gave up is not served later', async () => {
      const a = taken(claimRoute(app, '/p', 'a', answer('a'), [], { parking }));
      const gone = app.request('/p/ingest');
      const stays = app.request('/p/ingest');
      gone.abort();
      assert.equal(parkedRequests(app, '/p'), 1);
      a.open();
      await settle();
      assert.deepEqual(gone.answers, []);
      assert.deepEqual(stays.answers, ['a/ingest']);
    });
  });

  describe('open', () => {
    it('refuses another owner; the same owner may claim again and its old claim goes stale', async () => {
      const first = taken(claimRoute(app, '/p', 'a', answer('a1')));
      assert.deepEqual(claimRoute(app, '/p/', 'b', answer('b')), { ok: false, basePath: '/p', owner: 'a' });
      taken(claimRoute(app, '/p', 'a', answer('a2')));
      first.release();
      assert.equal(routeState(app, '/p'), 'open', 'a replaced claim cannot release the path');
      assert.deepEqual(app.request('/p/ingest').answers, ['a2/ingest']);
    });

    it('runs the route middleware before its handler; an error in it goes to next', () => {
      taken(claimRoute(app, '/p', 'a', answer('a'), [noting('cors'), noting('auth')]));
      const served = app.request('/p/ingest');
      assert.deepEqual(served.middleware, ['cors', 'auth']);
      assert.deepEqual(served.answers, ['a/ingest']);
      taken(claimRoute(app, '/e', 'e', answer('e'), [(_req, _res, next) => next(new Error('denied'))]));
      assert.deepEqual(app.request('/e/ingest').answers, ['error: Error: denied']);
    });

    it('release() frees the path: requests fall through, another owner may claim it', () => {
      const a = taken(claimRoute(app, '/p', 'a', answer('a')));
      a.release();
      assert.equal(routeState(app, '/p'), 'free');
      assert.equal(routeOwner(app, '/p'), undefined);
      assert.deepEqual(app.request('/p/ingest').answers, ['fell through']);
      taken(claimRoute(app, '/p', 'b', answer('b')));
      assert.deepEqual(app.request('/p/ingest').answers, ['b/ingest']);
    });

    it('release() of an opening path routes what waited again (here: to a shorter base path)', async () => {
      taken(claimRoute(app, '', 'root', answer('root')));
      const a = taken(claimRoute(app, '/p', 'a', answer('a'), [], { parking }));
      const parked = app.request('/p/ingest');
      a.release();
      await settle();
      assert.deepEqual(parked.answers, ['root/p/ingest']);
    });
  });

  describe('vacant', () => {
    it('release(hold) keeps the path for a successor: nobody owns it, the old middleware still runs', () => {
      const a = taken(claimRoute(app, '/p', 'a', answer('a'), [noting('cors')]));
      a.release(hold({ parked: false }));
      assertHeldAnswering(app, 'vacant', '/health');
    });

    it('parks receiver routes for the successor; at the deadline the hold answers', () => {
      taken(claimRoute(app, '/p', 'a', answer('a'))).release(hold());
      const parked = app.request('/p/ingest/batch');
      assert.deepEqual(app.request('/p/other').answers, ['held/other'], 'only the parked routes wait');
      assert.deepEqual(parked.answers, []);
      clock.tick(PARK_MS);
      assert.deepEqual(parked.answers, ['held/ingest/batch']);
    });

    it('any node may claim it: the hold ends once, the successor serves what waited once it opens', async () => {
      let ended = 0;
      const free = taken(claimRoute(app, '/p', 'a', answer('a'))).release(hold({ onEnd: () => ended++ }));
      const parked = app.request('/p/ingest');
      const b = taken(claimRoute(app, '/p', 'b', answer('b'), [], { parking }));
      assert.equal(routeState(app, '/p'), 'opening');
      assert.equal(ended, 1);
      free(); // late: must not remove the new owner's route
      clock.tick(60_000); // nor may the hold's end
      assert.equal(ended, 1);
      assert.equal(routeState(app, '/p'), 'opening');
      assert.deepEqual(parked.answers, ['b/ingest'], 'its deadline passed meanwhile: the owner served it');
      const late = app.request('/p/ingest');
      b.open();
      await settle();
      assert.deepEqual(late.answers, ['b/ingest']);
    });

    it('a claim without parking serves what waited at once', async () => {
      taken(claimRoute(app, '/p', 'a', answer('a'))).release(hold());
      const parked = app.request('/p/diagnostics');
      claimRoute(app, '/p', 'b', answer('b'));
      await settle();
      assert.deepEqual(parked.answers, ['b/diagnostics']);
    });

    it('ends when freed early or when the hold expires: requests then fall through', async () => {
      const ends: string[] = [];
      const early = taken(claimRoute(app, '/early', 'a', answer('a'))).release(hold({ onEnd: () => ends.push('early') }));
      taken(claimRoute(app, '/late', 'b', answer('b'))).release(hold({ ms: 10_000, onEnd: () => ends.push('late') }));
      const waiting = app.request('/late/health');
      early();
      early();
      assert.equal(routeState(app, '/early'), 'free');
      clock.tick(9_999);
      assert.equal(routeState(app, '/late'), 'vacant');
      assert.deepEqual(waiting.answers, ['held/health'], 'parked no longer than PARK_MS');
      const parkedAtEnd = app.request('/late/health');
      clock.tick(1);
      assert.equal(routeState(app, '/late'), 'free');
      await settle();
      assert.deepEqual(parkedAtEnd.answers, ['fell through']);
      assert.deepEqual(ends, ['early', 'late']);
    });

    it('a stale claim cannot release or open the path its successor holds', () => {
      const a = taken(claimRoute(app, '/p', 'a', answer('a'), [], { parking }));
      a.release(hold());
      taken(claimRoute(app, '/p', 'b', answer('b'), [], { parking }));
      a.open();
      assert.equal(routeState(app, '/p'), 'opening');
      a.release();
      assert.equal(routeOwner(app, '/p'), 'b');
    });
  });

  describe('reserved', () => {
    it('holds a path nobody held, with the given middleware; nobody owns it', () => {
      const free = reserveRoute(app, '/p/', hold({ parked: false }), [noting('cors')]);
      assert.ok(free);
      assertHeldAnswering(app, 'reserved', '/ingest');
    });

    it('is refused on a path that is held in any state: its holder stays', () => {
      taken(claimRoute(app, '/owned', 'a', answer('a')));
      taken(claimRoute(app, '/vacant', 'b', answer('b'))).release(hold());
      reserveRoute(app, '/reserved', hold());
      for (const p of ['/owned', '/vacant', '/reserved']) assert.equal(reserveRoute(app, p, hold()), undefined, p);
      assert.deepEqual(
        ['/owned', '/vacant', '/reserved'].map((p) => routeState(app, p)),
        ['open', 'vacant', 'reserved'],
      );
    });

    it('its node claims it: what waited is served by that node once open', async () => {
      let ended = 0;
      const free = reserveRoute(app, '/p', hold({ onEnd: () => ended++ }))!;
      const early = app.request('/p/ingest/batch');
      const c = taken(claimRoute(app, '/p', 'new', answer('new'), [], { parking }));
      assert.equal(ended, 1);
      free();
      assert.equal(routeState(app, '/p'), 'opening');
      c.open();
      await settle();
      assert.deepEqual(early.answers, ['new/ingest/batch']);
    });

    it('no node comes: freed early or at the hold\'s end, what waited falls through', async () => {
      const free = reserveRoute(app, '/ghost', hold())!;
      reserveRoute(app, '/gone', hold({ ms: 10_000 }));
      const ghost = app.request('/ghost/health');
      const gone = app.request('/gone/health');
      free();
      await settle();
      assert.deepEqual(ghost.answers, ['fell through']);
      assert.equal(routeState(app, '/ghost'), 'free');
      clock.tick(PARK_MS);
      assert.deepEqual(gone.answers, ['held/health']);
      clock.tick(10_000 - PARK_MS);
      assert.equal(routeState(app, '/gone'), 'free');
    });
  });
});
