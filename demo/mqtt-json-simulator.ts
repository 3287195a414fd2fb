/**
 * Plain-JSON MQTT publishers (energy meters), the kind of non-Sparkplug traffic users reshape
 * with a function node and write to a table of their own (example 03).
 */
import * as mqtt from 'mqtt';

export interface MeterSimulatorOptions {
  brokerUrl: string;
  meters?: number;
  intervalMs?: number;
}

export class EnergyMeterSimulator {
  private client: mqtt.MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private energy: number[] = [];
  published = 0;

  constructor(private readonly opts: MeterSimulatorOptions) {}

  start(): void {
    const meters = this.opts.meters ?? 3;
    this.energy = Array.from({ length: meters }, (_, i) => 10_000 + i * 1_000);
    const client = mqtt.connect(this.opts.brokerUrl, { clientId: `meters-${process.pid}`, reconnectPeriod: 1000 });
    client.on('error', () => undefined); // reconnects by itself; the demo prints broker state elsewhere
    this.client = client;
    this.timer = setInterval(() => {
      if (!client.connected) return;
      const now = Date.now();
      for (let i = 0; i < meters; i++) {
        const kw = Math.round((40 + 15 * Math.sin(now / 20_000 + i)) * 100) / 100;
        this.energy[i] += kw / 3600;
        const reading = {
          meter: `EM-${String(i + 1).padStart(2, '0')}`,
          ts: new Date(now).toISOString(),
          kw,
          kwh: Math.round(this.energy[i] * 1000) / 1000,
          voltage: Math.round((400 + 4 * Math.sin(now / 3000 + i)) * 10) / 10,
        };
        client.publish(`plant/${reading.meter}/energy`, JSON.stringify(reading));
        this.published++;
      }
    }, this.opts.intervalMs ?? 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.client?.end(true);
    this.client = undefined;
  }
}
