/**
 * Tag paths from a template such as Ignition MQTT Engine's
 * `[MQTT Engine]Edge Nodes/{group}/{edge}/{device}/{metric}`. Node metrics have no device:
 * the `{device}` segment is dropped with its separator. Metric names keep their `/` (folders).
 */
export const DEFAULT_TAG_PATH_TEMPLATE = '[MQTT Engine]Edge Nodes/{group}/{edge}/{device}/{metric}';

export interface TagPathBuilder {
  /** the `[provider]` of the template, if it has one */
  provider: string | undefined;
  path(group: string, edge: string, device: string | undefined, metric: string): string;
}

const PLACEHOLDER = /\{(group|edge|device|metric)\}/g;

export class TagPathTemplateError extends Error {}

export function compileTagPathTemplate(template: string = DEFAULT_TAG_PATH_TEMPLATE): TagPathBuilder {
  const tpl = template.trim() || DEFAULT_TAG_PATH_TEMPLATE;
  if (!tpl.includes('{metric}')) throw new TagPathTemplateError('the tag path template must contain {metric}');
  const unknown = tpl.replace(PLACEHOLDER, '').match(/\{[^}]*\}/);
  if (unknown) throw new TagPathTemplateError(`unknown placeholder ${unknown[0]} in the tag path template`);
  const provider = /^\[([^\]]+)\]/.exec(tpl)?.[1];
  // the node-metric form of the template: "{device}" removed together with one adjacent "/"
  const nodeTpl = tpl.includes('/{device}') ? tpl.replace('/{device}', '') : tpl.replace('{device}/', '').replace('{device}', '');
  const fill = (t: string, group: string, edge: string, device: string, metric: string): string =>
    t.replace(PLACEHOLDER, (_, name: string) =>
      name === 'group' ? group : name === 'edge' ? edge : name === 'device' ? device : metric);
  return {
    provider,
    path: (group, edge, device, metric) =>
      device === undefined ? fill(nodeTpl, group, edge, '', metric) : fill(tpl, group, edge, device, metric),
  };
}
