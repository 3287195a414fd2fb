/**
 * The deploy hand-over (lib/ignition/deploy-handover.ts) driven by deploy events on fake timers:
 * when paths are reserved, opened, held and freed, without Node-RED.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type sinon from 'sinon';
import {
  deployHandover,
  normaliseBasePath,
  REDEPLOY_HOLD_MS,
  ROUTE_PARK_MS,
  routeOwner,
  routeState,
  startingNodes,
  type DeployEvents,
  type FlowNodeDef,
  type HandoverRuntime,
  type ReceiverClaim,
} from '../../../lib/ignition';
import { answer, FakeApp, fakeClock, settle } from './route-harness';

const TYPE = 'receiver';

/** A runtime whose nodes resolve their `path` as is; a path with a space is a bad one. */
function runtimeOn(app: FakeApp | undefined, retryAfterSeconds = 5): HandoverRuntime {
  return {
    app,
    type: TYPE,
    resolve: (def: FlowNodeDef) => (def.path?.includes(' ') ? undefined : { path: normaliseBasePath(def.path ?? '/default'), retryAfterSeconds, middleware: [] }),
  };
}

function receiver(path: string, owner: string, extra: Partial<ReceiverClaim> = {}): ReceiverClaim {
  return { path, owner, retryAfterSeconds: 7, middleware: [], handler: answer(owner), ...extra };
}

describe('deploy hand-over', () => {
  let clock: sinon.SinonFakeTimers;
  let app: FakeApp;
  let events: EventEmitter;
  beforeEach(() => {
    clock = fakeClock();
    app = new FakeApp();
    events = new EventEmitter();
  });
  afterEach(() => clock.restore());

  const handoverOf = (runtime = runtimeOn(app)) => deployHandover(events as unknown as DeployEvents, runtime);
  const deploy = (event: 'flows:stopped' | 'flows:starting', flows: unknown[]) => events.emit(event, { config: { flows } });
  const started = () => events.emit('flows:started', {});

  describe('a node claims its path', () => {
    it('opening until the flows have started: requests wait, then its node answers them; onOpen once', async () => {
      let opened = 0;
      const route = handoverOf().claim(app, receiver('/p', 'a', { onOpen: () => opened++ }));
      assert.ok(route.claim.ok);
      assert.equal(routeState(app, '/p'), 'opening');
      const early = app.request('/p/ingest');
      started();
      assert.equal(routeState(app, '/p'), 'open');
      assert.equal(opened, 1);
      await settle();
      assert.deepEqual(early.answers, ['a/ingest']);
      started();
      clock.tick(ROUTE_PARK_MS);
      assert.equal(opened, 1, 'opens once');
    });

    it('opens after ROUTE_PARK_MS should no start event come', () => {
      let opened = 0;
      handoverOf().claim(app, receiver('/p', 'a', { onOpen: () => opened++ }));
      clock.tick(ROUTE_PARK_MS - 1);
      assert.equal(routeState(app, '/p'), 'opening');
      clock.tick(1);
      assert.equal(routeState(app, '/p'), 'open');
      assert.equal(opened, 1);
    });

    it('a path taken by another node: the claim is refused, onOpen still comes, its close leaves the owner alone', () => {
      const handover = handoverOf();
      handover.claim(app, receiver('/p', 'a'));
      let opened = 0;
      const second = handover.claim(app, receiver('/p', 'b', { onOpen: () => opened++ }));
      assert.deepEqual(second.claim, { ok: false, basePath: '/p', owner: 'a' });
      started();
      assert.equal(opened, 1);
      second.close();
      assert.equal(routeOwner(app, '/p'), 'a');
      assert.equal(routeState(app, '/p'), 'open');
    });
  });

  describe('a node closes', () => {
    it('its path stays vacant until the next start: requests wait, then get 503 + Retry-After', () => {
      const route = handoverOf().claim(app, receiver('/p', 'a'));
      started();
      route.close();
      assert.equal(routeState(app, '/p'), 'vacant');
      const waiting = app.request('/p/ingest/batch');
      clock.tick(ROUTE_PARK_MS);
      assert.deepEqual(waiting.answers, ['503']);
      assert.equal(waiting.headers['retry-after'], '7');
      started();
      assert.equal(routeState(app, '/p'), 'free', 'no successor: free once the flows have started');
    });

    it('its successor takes the path over with what waited in the gap', async () => {
      const handover = handoverOf();
      handover.claim(app, receiver('/p', 'old')).close();
      const inGap = app.request('/p/ingest');
      handover.claim(app, receiver('/p', 'new'));
      started();
      await settle();
      assert.deepEqual(inGap.answers, ['new/ingest']);
      assert.equal(routeOwner(app, '/p'), 'new');
    });

    it('closed before the start: it never opens, and the start frees its path', () => {
      let opened = 0;
      handoverOf().claim(app, receiver('/p', 'a', { onOpen: () => opened++ })).close();
      clock.tick(ROUTE_PARK_MS);
      assert.equal(opened, 0);
      assert.equal(routeState(app, '/p'), 'vacant');
      started();
      assert.equal(routeState(app, '/p'), 'free');
    });

    it('no start comes (runtime stopping): the path is free after REDEPLOY_HOLD_MS', () => {
      handoverOf().claim(app, receiver('/p', 'a')).close();
      clock.tick(REDEPLOY_HOLD_MS - 1);
      assert.equal(routeState(app, '/p'), 'vacant');
      clock.tick(1);
      assert.equal(routeState(app, '/p'), 'free');
    });
  });

  describe('a deploy is about to start', () => {
    afterEach(() => delete process.env.HANDOVER_TEST_PATH);

    it('reserves the paths of the receivers it will create, on stop and on the first start', async () => {
      handoverOf();
      deploy('flows:stopped', [{ id: 'r1', type: TYPE, path: '/fresh' }]);
      deploy('flows:starting', [{ id: 'r2', type: TYPE, path: '/first/' }]);
      assert.equal(routeState(app, '/fresh'), 'reserved');
      assert.equal(routeState(app, '/first'), 'reserved');
      const early = app.request('/fresh/ingest');
      handoverOf().claim(app, receiver('/fresh', 'r1'));
      started();
      await settle();
      assert.deepEqual(early.answers, ['r1/ingest'], 'the new node answers what came before it existed');
      assert.equal(routeState(app, '/first'), 'free', 'what no node claimed is freed at the start');
    });

    it('leaves out disabled nodes, other types, bad paths and paths it cannot read here', () => {
      process.env.HANDOVER_TEST_PATH = '/from-env';
      handoverOf();
      deploy('flows:stopped', [
        { id: 'off', type: TYPE, path: '/off', d: true },
        { id: 'other', type: 'http in', path: '/other' },
        { id: 'bad', type: TYPE, path: '/with space' },
        { id: 'unset', type: TYPE, path: '${HANDOVER_TEST_UNSET}' },
        { id: 'mixed', type: TYPE, path: '/x/${HANDOVER_TEST_PATH}' },
        { id: 'env', type: TYPE, path: '${HANDOVER_TEST_PATH}' },
        { id: 'default', type: TYPE },
        null,
      ]);
      assert.deepEqual(
        ['/off', '/other', '/with space', '/x/${HANDOVER_TEST_PATH}', '/from-env', '/default'].map((p) => routeState(app, p)),
        ['free', 'free', 'free', 'free', 'reserved', 'reserved'],
      );
    });

    it('keeps a path its old node left vacant as it is (one hold, freed at the start)', () => {
      const handover = handoverOf();
      handover.claim(app, receiver('/p', 'old')).close();
      deploy('flows:stopped', [{ id: 'n', type: TYPE, path: '/p' }]);
      assert.equal(routeState(app, '/p'), 'vacant');
      started();
      assert.equal(routeState(app, '/p'), 'free');
    });

    it('reserves nothing when the runtime serves no HTTP nodes, or the event carries no flows', () => {
      handoverOf(runtimeOn(undefined));
      deploy('flows:stopped', [{ id: 'n', type: TYPE, path: '/p' }]);
      events.emit('flows:stopped');
      assert.equal(routeState(app, '/p'), 'free');
    });
  });

  it('one hand-over per runtime: listeners are added once, the latest load\'s runtime is read', () => {
    const first = handoverOf(runtimeOn(new FakeApp()));
    const later = handoverOf(runtimeOn(app, 3));
    assert.equal(later, first);
    assert.equal(events.listenerCount('flows:stopped'), 1);
    assert.equal(events.listenerCount('flows:started'), 1);
    deploy('flows:stopped', [{ id: 'n', type: TYPE, path: '/p' }]);
    assert.equal(routeState(app, '/p'), 'reserved');
    const waiting = app.request('/p/health');
    clock.tick(ROUTE_PARK_MS);
    assert.equal(waiting.headers['retry-after'], '3');
  });

  it('startingNodes reads a `${VAR}` path from the environment, other paths as they are', () => {
    process.env.HANDOVER_TEST_PATH = '/env';
    try {
      assert.deepEqual(startingNodes([{ type: TYPE, path: ' ${HANDOVER_TEST_PATH} ' }, { type: TYPE, path: '/plain' }, { type: TYPE, path: 42 }], TYPE), [
        { type: TYPE, path: '/env' },
        { type: TYPE, path: '/plain' },
        { type: TYPE, path: undefined },
      ]);
      assert.deepEqual(startingNodes(undefined, TYPE), []);
    } finally {
      delete process.env.HANDOVER_TEST_PATH;
    }
  });
});
