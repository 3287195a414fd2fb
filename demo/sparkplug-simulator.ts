/**
 * A simulated Sparkplug B edge node built on Eclipse Tahu's own client (a peer we did not
 * write): one edge node with two devices on a filling line, births with aliases, data every
 * interval, rebirth on request, and now and then a device death followed by a new birth.
 */
import { newClient } from 'sparkplug-client';
import type { UPayload } from 'sparkplug-payload/lib/sparkplugbpayload';

type SparkplugClient = ReturnType<typeof newClient>;

export interface EdgeSimulatorOptions {
  brokerUrl: string;
  groupId?: string;
  edgeNode?: string;
  devices?: string[];
  intervalMs?: number;
  /** how often a device dies and is born again (0 = never) */
  deviceCycleMs?: number;
  log?: (line: string) => void;
}

interface DeviceMetric {
  name: string;
  alias: number;
  type: 'Double' | 'Float' | 'Int32' | 'Int64' | 'Boolean' | 'String';
  value: (t: number, i: number) => number | boolean | string;
}

const DEVICE_METRICS: Omit<DeviceMetric, 'alias'>[] = [
  { name: 'Process/Temperature', type: 'Double', value: (t, i) => Math.round((72 + 3 * Math.sin(t / 8000 + i)) * 100) / 100 },
  { name: 'Process/Pressure', type: 'Float', value: (t, i) => Math.round((2.4 + 0.2 * Math.cos(t / 6000 + i)) * 1000) / 1000 },
  { name: 'Counters/Good Parts', type: 'Int64', value: (t, i) => Math.floor(t / 250) + i * 1000 },
  { name: 'Counters/Rejects', type: 'Int32', value: (t, i) => Math.floor(t / 9000) + i },
  { name: 'Status/Running', type: 'Boolean', value: (t, i) => Math.floor(t / 20000 + i) % 5 !== 0 },
  { name: 'Status/Recipe', type: 'String', value: (t, i) => ['COLA-330', 'WATER-500', 'JUICE-250'][Math.floor(t / 45000 + i) % 3] },
];

export class SparkplugEdgeSimulator {
  private client: SparkplugClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private cycleTimer: NodeJS.Timeout | undefined;
  private readonly devices: string[];
  private readonly metricsByDevice = new Map<string, DeviceMetric[]>();
  private readonly online = new Set<string>();
  stats = { births: 0, dataMessages: 0, metrics: 0, rebirthRequests: 0, deaths: 0 };

  constructor(private readonly opts: EdgeSimulatorOptions) {
    this.devices = opts.devices ?? ['Filler', 'Capper'];
    let alias = 10;
    for (const device of this.devices) {
      this.metricsByDevice.set(device, DEVICE_METRICS.map((m) => ({ ...m, alias: alias++ })));
    }
  }

  get groupId(): string {
    return this.opts.groupId ?? 'Plant 1';
  }

  get edgeNode(): string {
    return this.opts.edgeNode ?? 'Line 1';
  }

  start(): void {
    const client = newClient({
      serverUrl: this.opts.brokerUrl,
      username: '',
      password: '',
      groupId: this.groupId,
      edgeNode: this.edgeNode,
      clientId: `edge-sim-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      publishDeath: true,
      keepalive: 30,
    });
    this.client = client;
    client.on('error', (err: Error) => this.opts.log?.(`edge: ${err.message}`));
    client.on('birth', () => this.publishBirths());
    client.on('ncmd', (payload: UPayload) => {
      const rebirth = payload.metrics?.find((m) => m.name === 'Node Control/Rebirth' && m.value === true);
      if (rebirth) {
        this.stats.rebirthRequests++;
        this.publishBirths();
      }
    });
    this.timer = setInterval(() => this.publishData(), this.opts.intervalMs ?? 1000);
    const cycle = this.opts.deviceCycleMs ?? 0;
    if (cycle > 0) this.cycleTimer = setInterval(() => this.cycleDevice(), cycle);
  }

  private metricPayload(device: string, t: number, birth: boolean): UPayload {
    const i = this.devices.indexOf(device);
    return {
      timestamp: t,
      metrics: this.metricsByDevice.get(device)!.map((m) => ({
        ...(birth ? { name: m.name } : {}),
        alias: m.alias,
        timestamp: t,
        type: m.type,
        value: m.value(t, i),
      })),
    };
  }

  private publishBirths(): void {
    const client = this.client;
    if (!client) return;
    const t = Date.now();
    // publishNodeBirth appends bdSeq to the object it is given, so it gets a fresh one each time
    client.publishNodeBirth({
      timestamp: t,
      metrics: [
        { name: 'Node Control/Rebirth', type: 'Boolean', value: false },
        { name: 'Properties/Firmware', type: 'String', value: '4.2.1', timestamp: t },
        { name: 'Line Speed', alias: 1, type: 'Double', value: 120.5, timestamp: t },
      ],
    });
    for (const device of this.devices) {
      client.publishDeviceBirth(device, this.metricPayload(device, t, true));
      this.online.add(device);
    }
    this.stats.births++;
  }

  private publishData(): void {
    const client = this.client;
    if (!client) return;
    const t = Date.now();
    client.publishNodeData({ timestamp: t, metrics: [{ alias: 1, type: 'Double', value: Math.round((120 + 5 * Math.sin(t / 10000)) * 10) / 10, timestamp: t }] });
    this.stats.dataMessages++;
    this.stats.metrics++;
    for (const device of this.online) {
      const payload = this.metricPayload(device, t, false);
      client.publishDeviceData(device, payload);
      this.stats.dataMessages++;
      this.stats.metrics += payload.metrics!.length;
    }
  }

  /** A device drops off (DDEATH: its tags go stale downstream) and is born again shortly after. */
  private cycleDevice(): void {
    const client = this.client;
    const device = this.devices[this.stats.deaths % this.devices.length];
    if (!client || !this.online.has(device)) return;
    client.publishDeviceDeath(device, { timestamp: Date.now() });
    this.online.delete(device);
    this.stats.deaths++;
    const rebirth = setTimeout(() => {
      if (!this.client) return;
      this.client.publishDeviceBirth(device, this.metricPayload(device, Date.now(), true));
      this.online.add(device);
    }, 3000);
    rebirth.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.cycleTimer) clearInterval(this.cycleTimer);
    this.timer = this.cycleTimer = undefined;
    this.client?.stop();
    this.client = undefined;
  }
}
