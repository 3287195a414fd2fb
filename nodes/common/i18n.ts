import * as fs from 'fs';
import * as path from 'path';
import type { NodeAPI } from 'node-red';

export type Translate = (key: string, params?: Record<string, string | number>) => string;

const catalogs = new Map<string, Record<string, unknown>>();

/**
 * Messages of a node type's catalog (`locales/en-US/<type>.json`, copied next to the compiled
 * node by the build). Node-RED translates through RED._; when it has no catalog for the key
 * (the test helper's RED._ returns the key itself) the English text is used, so users and
 * tests always get words, never keys.
 */
export function translator(RED: NodeAPI, type: string): Translate {
  return (key, params) => {
    const full = `${type}.${key}`;
    const translated = RED._(full, params);
    if (translated && translated !== full) return translated;
    return interpolate(englishText(type, key) ?? full, params);
  };
}

function englishText(type: string, key: string): string | undefined {
  let catalog = catalogs.get(type);
  if (!catalog) {
    const file = path.join(__dirname, '..', type, 'locales', 'en-US', `${type}.json`);
    catalog = (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>)[type] ?? {};
    catalogs.set(type, catalog);
  }
  let node: unknown = catalog;
  for (const part of key.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  return typeof node === 'string' ? node : undefined;
}

function interpolate(text: string, params?: Record<string, string | number>): string {
  if (!params) return text;
  return text.replace(/__([A-Za-z0-9_]+)__/g, (m, name: string) => (name in params ? String(params[name]) : m));
}
