import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseApiKeys } from '../../src/config.js';

describe('config', () => {
  it('defaults to the embedded mode on 127.0.0.1:8080', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, host: '127.0.0.1', dataDir: './.devteam', sandbox: 'local', concurrency: 4, bodyLimit: 262144 });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
  });

  it('names the env variable in readable errors', () => {
    expect(() => loadConfig({ REDIS_URL: 'not a url', PORT: '99999' })).toThrowError(ConfigError);
    try {
      loadConfig({ REDIS_URL: 'not a url', PORT: '99999' });
    } catch (error) {
      const problems = (error as ConfigError).problems;
      expect(problems).toHaveLength(2);
      expect(problems.some((p) => p.startsWith('REDIS_URL: invalid URL'))).toBe(true);
      expect(problems.some((p) => p.startsWith('PORT:'))).toBe(true);
    }
  });

  it('lets flags override env and names the flag in errors', () => {
    expect(loadConfig({ PORT: '9000' }, { port: '9001' }).port).toBe(9001);
    expect(() => loadConfig({}, { databaseUrl: 'mysql://x' })).toThrowError(/--database-url: invalid URL/);
  });

  it('treats empty env values as unset', () => {
    expect(loadConfig({ REDIS_URL: '', DATABASE_URL: '' }).redisUrl).toBeUndefined();
  });

  it('parses tenant API keys and rejects short keys', () => {
    const config = loadConfig({ DEVTEAM_API_KEYS: 'acme:0123456789abcdef01,beta:abcdefabcdefabcdef99' });
    expect([...parseApiKeys(config.apiKeys)]).toEqual([
      ['0123456789abcdef01', 'acme'],
      ['abcdefabcdefabcdef99', 'beta'],
    ]);
    expect(() => loadConfig({ DEVTEAM_API_KEYS: 'acme:short' })).toThrowError(/DEVTEAM_API_KEYS/);
  });
});
