/** Builds the OpenAPI 3.1 document from the route table (3.1 takes JSON Schema as is). */
import type { RouteSpec } from './routes';
import { errorResponse } from './schemas';

type Schema = Record<string, unknown>;

function parameters(schema: Schema | undefined, where: 'query' | 'path'): Schema[] {
  if (!schema) return [];
  const props = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(description ? { description } : {}),
      ...(rest.type === 'array' ? { style: 'form', explode: true } : {}),
      schema: rest,
    };
  });
}

export function buildOpenApi(routes: RouteSpec[], version: string): Schema {
  const paths: Record<string, Schema> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const content = r.content ?? { 'application/json': r.response };
    const ok = { description: 'OK', content: Object.fromEntries(Object.entries(content).map(([type, schema]) => [type, { schema }])) };
    const responses: Schema = { '200': ok, '401': { description: 'token required', content: { 'application/json': { schema: errorResponse } } } };
    if (r.querystring || r.params) responses['400'] = { description: 'invalid parameters', content: { 'application/json': { schema: errorResponse } } };
    if (r.params) responses['404'] = { description: 'not found', content: { 'application/json': { schema: errorResponse } } };
    paths[path] = {
      get: {
        operationId: path.replace(/^\/api\//, '').replace(/[{}]/g, '').replace(/\//g, '_') || 'root',
        summary: r.summary,
        parameters: [...parameters(r.params, 'path'), ...parameters(r.querystring, 'query')],
        responses,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'planewatch dashboard API',
      version,
      description: 'Read-only access to a planewatch database: captures, classified flows, findings, endpoints, certificates.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{}, { bearer: [] }],
    paths,
  };
}
