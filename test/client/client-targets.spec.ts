import { describe, expect, it } from 'vitest';
import { formatTarget, parseTarget } from '../../src/client/target.js';

describe('client target strings', () => {
  it.each([
    ['unix:/run/app.sock', { unix: '/run/app.sock' }],
    ['/run/app.sock', { unix: '/run/app.sock' }],
    ['./ringwire.sock', { unix: './ringwire.sock' }],
    ['app.sock', { unix: 'app.sock' }],
    ['tcp://127.0.0.1:7070', { host: '127.0.0.1', port: 7070 }],
    ['localhost:7070', { host: 'localhost', port: 7070 }],
    ['[::1]:7070', { host: '::1', port: 7070 }],
    ['tcp://[::1]:80', { host: '::1', port: 80 }],
    ['7070', { host: '127.0.0.1', port: 7070 }],
  ])('reads %s', (text, expected) => {
    expect(parseTarget(text)).toEqual(expected);
  });

  it.each(['tcp://host', 'host:99999', 'what', 'tcp://:0'])('rejects %s with OptionsError', (text) => {
    expect(() => parseTarget(text)).toThrow(expect.objectContaining({ code: 'RINGWIRE_INVALID_OPTIONS' }));
  });

  it('formats targets the way listeners name themselves', () => {
    expect(formatTarget({ unix: '/a.sock' })).toBe('unix:/a.sock');
    expect(formatTarget({ host: '::1', port: 1 })).toBe('tcp:[::1]:1');
    expect(formatTarget({ host: '127.0.0.1', port: 7070 })).toBe('tcp:127.0.0.1:7070');
  });
});
