// GET /openapi.json against the real runtime (embedded PGlite): the document names every route the
// server registers (recorded from the uWS app itself, not a list typed here), the README's example
// bodies validate against its schemas, and the service's real error replies match what it documents.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { loadConfig } from '../../src/config.js';
import { ApiError, type ErrorCode } from '../../src/http/errors.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { apiClient, type ApiClient } from '../support/api-client.js';
import { tempDir } from '../support/services.js';

// Every pattern the server registers on its uWS app, as [method, pattern].
const registered = vi.hoisted(() => [] as Array<[string, string]>);

vi.mock('uWebSockets.js', async (importOriginal) => {
  const real = (await importOriginal()) as { default?: Record<string, unknown> } & Record<string, unknown>;
  const uws = (real.default ?? real) as Record<string, unknown> & { App: (...args: unknown[]) => object };
  const ROUTE_METHODS = new Set(['get', 'post', 'put', 'del', 'patch', 'options', 'head', 'connect', 'trace', 'any', 'ws']);
  const App = (...args: unknown[]) => {
    const app = uws.App(...args) as Record<string, unknown>;
    const proxy: object = new Proxy(app, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (typeof value !== 'function') return value;
        if (typeof prop === 'string' && ROUTE_METHODS.has(prop)) {
          return (pattern: string, ...rest: unknown[]) => {
            registered.push([prop, pattern]);
            (value as (...a: unknown[]) => unknown).call(target, pattern, ...rest);
            return proxy;
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
    return proxy;
  };
  const mocked = { ...uws, App };
  return { ...real, ...mocked, default: mocked };
});

const KEY = 'acme-key-0123456789abcdef';
const HTTP_METHODS = ['get', 'post', 'put', 'delete', 'patch', 'options', 'head'] as const;
const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;

type Json = any;

/** `/events/:id` and `/events/{eventId}` are the same route. */
const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path.replace(/:[^/]+|\{[^}]+\}/g, '{}')}`;

/** The README's `### \`METHOD /path\`` sections, with their ```json blocks and the curl bodies anywhere in it. */
function readmeExamples(readme: string): Array<{ where: string; method: string; path: string; body: unknown }> {
  const examples: Array<{ where: string; method: string; path: string; body: unknown }> = [];
  const sections = readme.split(/^### /m).slice(1);
  for (const section of sections) {
    const heading = /^`(GET|POST|PUT|PATCH|DELETE) (\/[^`\s]*)`/.exec(section);
    if (!heading) continue;
    for (const block of section.matchAll(/```json\n([\s\S]*?)```/g)) {
      examples.push({ where: `README json block under ${heading[0]}`, method: heading[1]!, path: heading[2]!, body: JSON.parse(block[1]!) });
    }
  }
  for (const block of readme.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)) {
    // Continuations joined; a quoted -d body may still span lines.
    const text = block[1]!.replace(/\\\n/g, ' ');
    for (const curl of text.matchAll(/curl\s[^\n]*?-X\s*(POST|PUT|PATCH)\s+(?:https?:\/\/)?[^\s/]+(\/[^\s'"]*)[^\n]*?\s-d\s+'([^']*)'/g)) {
      examples.push({ where: `README curl ${curl[1]} ${curl[2]}`, method: curl[1]!, path: curl[2]!, body: JSON.parse(curl[3]!) });
    }
  }
  return examples;
}

describe('GET /openapi.json', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;
  let api: ApiClient;
  let doc: Json;
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);

  /** Follows a local `$ref` (component schemas are self-contained). */
  const resolve = (schema: Json): Json => {
    if (typeof schema?.$ref !== 'string') return schema;
    return (schema.$ref as string).slice(2).split('/').reduce((node: Json, part) => node?.[part], doc);
  };
  const compile = (schema: Json): ValidateFunction => ajv.compile(resolve(schema));

  /** [routeKey, operation] for every operation of the document. */
  const operations = (): Array<[string, Json, string]> =>
    Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
      HTTP_METHODS.filter((m) => item[m]).map((m) => [routeKey(m, path), item[m], path] as [string, Json, string]),
    );
  const operationOf = (method: string, path: string): Json => {
    const wanted = routeKey(method, path.split('?')[0]!);
    return operations().find(([key]) => key === wanted)?.[1];
  };

  beforeAll(async () => {
    dir = await tempDir('devteam-openapi');
    runtime = await startRuntime(
      loadConfig({ PORT: '0', DEVTEAM_DATA_DIR: join(dir.path, 'data'), DEVTEAM_REPO_CACHE_DIR: join(dir.path, 'cache'), DEVTEAM_API_KEYS: `acme:${KEY}` }),
      { api: true, worker: false },
      createLogger({ level: 'silent' }),
    );
    api = apiClient(runtime.port!, KEY);
    const reply = await api.get('/openapi.json', { key: null });
    expect(reply.status, reply.text).toBe(200);
    doc = reply.body;
  });

  afterAll(async () => {
    await runtime?.stop();
    await dir?.remove();
  });

  it('is served without an API key as OpenAPI 3.1 JSON', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info.title).toBe('DevTeam Runner');
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('documents every route the server registers, and no route it does not', () => {
    const routes = registered.filter(([method, pattern]) => !(method === 'any' && pattern === '/*'));
    // The catch-all is the 404 for unknown routes, not an endpoint.
    expect(registered.filter(([m]) => m === 'any').map(([, p]) => p)).toEqual(['/*']);
    expect(routes.length).toBeGreaterThanOrEqual(12);
    const served = new Set(routes.map(([method, pattern]) => routeKey(method === 'ws' ? 'get' : method, pattern)));
    const documented = new Set(operations().map(([key]) => key));
    expect([...served].filter((r) => !documented.has(r)), 'registered but not documented').toEqual([]);
    expect([...documented].filter((r) => !served.has(r)), 'documented but not registered').toEqual([]);
  });

  it('describes what resume does to a failed execution, and the status says how often it was resumed', () => {
    const resume = operationOf('post', '/api/devteam/automation/resume/{projectId}');
    expect(resume.summary).toMatch(/failed one in place/);
    expect(resume.summary).toMatch(/fresh budget of attempts/);
    expect(Object.keys(resume.responses)).toEqual(expect.arrayContaining(['202', '404', '409']));
    const status = operationOf('get', '/api/devteam/automation/status/{projectId}');
    expect(status.responses['200'].description).toMatch(/resumes/);
  });

  it('names every path parameter of every route, with a schema', () => {
    for (const [key, operation, path] of operations()) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const params = ((operation.parameters ?? []) as Json[]).filter((p) => p.in === 'path');
      expect(params.map((p) => p.name), key).toEqual(names);
      for (const p of params) {
        expect(p.required, `${key} ${p.name}`).toBe(true);
        compile(p.schema);
      }
    }
  });

  it('gives each failure status the error body, with exactly the codes the server maps to that status', () => {
    const errorBody = compile(doc.components.schemas.ErrorBody);
    for (const [key, operation] of operations()) {
      for (const [status, response] of Object.entries(operation.responses as Record<string, Json>)) {
        if (Number(status) < 400) continue;
        if (key === 'GET /readyz') continue; // 503 there is the readiness report, same shape as 200
        const schema = response.content?.['application/json']?.schema;
        expect(schema, `${key} ${status}`).toBeDefined();
        const codes = schema.properties.error.properties.code.enum as ErrorCode[];
        expect(codes.length, `${key} ${status}`).toBeGreaterThan(0);
        const validate = compile(schema);
        for (const code of codes) {
          expect(new ApiError(code, '').status, `${key} ${status} ${code}`).toBe(Number(status));
          const body = { error: { code, message: 'm', details: [{ field: 'f', message: 'x' }] } };
          expect(validate(body), `${key} ${status} ${code}`).toBe(true);
          expect(errorBody(body)).toBe(true);
        }
        expect(validate({ error: { code: 'no_such_code', message: 'm' } })).toBe(false);
        expect(validate({ error: { code: codes[0] } }), 'message is required').toBe(false);
      }
    }
  });

  it("validates the README's example bodies (initialize and POST /events) against the document", () => {
    const examples = readmeExamples(readFileSync(new URL('../../README.md', import.meta.url), 'utf8'));
    const paths = examples.map((e) => `${e.method} ${e.path}`);
    expect(paths).toContain('POST /events');
    expect(paths.filter((p) => p === 'POST /api/devteam/automation/initialize').length).toBeGreaterThanOrEqual(2);
    for (const example of examples) {
      const operation = operationOf(example.method, example.path);
      expect(operation?.requestBody, `${example.where}: no such operation with a body`).toBeDefined();
      const validate = compile(operation.requestBody.content['application/json'].schema);
      expect(validate(example.body), `${example.where}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
  });

  it('keeps the schemas strict: unknown fields and missing required ones are refused', () => {
    const initialize = compile(operationOf('post', '/api/devteam/automation/initialize').requestBody.content['application/json'].schema);
    const event = compile(operationOf('post', '/events').requestBody.content['application/json'].schema);
    const project = { projectId: 'web', repository: { url: 'https://git.example.com/acme/web.git' } };
    expect(initialize(project)).toBe(true);
    expect(initialize({ ...project, extra: 1 })).toBe(false);
    expect(initialize({ ...project, repository: { ...project.repository, token: 'x' } })).toBe(false);
    expect(initialize({ projectId: 'web' })).toBe(false);
    expect(initialize({ ...project, agent: { preset: 'no-such-agent' } })).toBe(false);
    expect(event({ type: 'DEVTEAM_AUTOMATION', projectId: 'p', payload: {} })).toBe(true);
    expect(event({ type: 'lower', projectId: 'p', payload: {} })).toBe(false);
    expect(event({ type: 'X', projectId: '-p', payload: {} })).toBe(false);
  });

  it("matches the service's real error replies to the documented responses", async () => {
    const cases: Array<[string, string, () => Promise<{ status: number; body: Json }>]> = [
      ['post', '/events', () => api.post('/events', { type: 'X', projectId: 'p' })],
      ['post', '/events', () => api.post('/events', '{"type":', {})],
      ['get', '/events/{eventId}', () => api.get('/events/not-a-uuid')],
      ['get', '/api/devteam/automation/status/{projectId}', () => api.get('/api/devteam/automation/status/nope')],
      ['get', '/api/devteam/automation/status/{projectId}', () => api.get('/api/devteam/automation/status/nope', { key: null })],
      ['post', '/api/devteam/automation/pause/{projectId}', () => api.post('/api/devteam/automation/pause/nope', '')],
      ['post', '/api/devteam/automation/initialize', () => api.post('/api/devteam/automation/initialize', { projectId: 'web' })],
      ['get', '/api/devteam/automation/executions/{executionId}/artifacts', () => api.get(`/api/devteam/automation/executions/${crypto.randomUUID()}/artifacts`)],
      ['get', '/api/devteam/automation/projects', () => api.get('/api/devteam/automation/projects?status=sleeping')],
      ['get', '/api/devteam/automation/projects', () => api.get('/api/devteam/automation/projects', { key: null })],
      ['get', '/api/devteam/automation/projects/{projectId}/executions', () => api.get('/api/devteam/automation/projects/nope/executions')],
      ['get', '/assets/{file}', () => api.get('/assets/nope.js', { key: null })],
    ];
    for (const [method, path, send] of cases) {
      const reply = await send();
      const response = operationOf(method, path).responses[String(reply.status)];
      expect(response, `${method} ${path} answered ${reply.status}, which is not documented`).toBeDefined();
      const validate = compile(response.content['application/json'].schema);
      expect(validate(reply.body), `${method} ${path} ${reply.status}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
  });
});
