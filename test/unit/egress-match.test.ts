/**
 * The egress allowlist's entries and host:port matcher (issue #11 item 2, "The egress tong": matched
 * on host and port, with `*.` wildcards), table-driven: one matcher for the launcher and the proxy
 * (launcher/core/egress-match.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalHost,
  matchEgress,
  parseEgressEntries,
  parseEgressEntry,
  splitAuthority,
  type EgressEntry,
} from '../../launcher/core/egress-match.js';

const entry = (text: string): EgressEntry => {
  const parsed = parseEgressEntry(text);
  assert.ok('entry' in parsed, `${text}: ${'error' in parsed ? parsed.error : ''}`);
  return parsed.entry;
};

test('entries parse to a canonical form and their ports', () => {
  const cases: [string, string, number[]][] = [
    ['registry.npmjs.org', 'registry.npmjs.org', [443, 80]],
    ['Registry.NPMJS.org.', 'registry.npmjs.org', [443, 80]],
    ['  api.example.com:8443 ', 'api.example.com:8443', [8443]],
    ['*.githubusercontent.com', '*.githubusercontent.com', [443, 80]],
    ['*.Example.COM:8080', '*.example.com:8080', [8080]],
    ['172.17.0.1:9999', '172.17.0.1:9999', [9999]],
    ['2130706433:80', '127.0.0.1:80', [80]],
    ['0x7f.1', '127.0.0.1', [443, 80]],
    ['[::1]', '[::1]', [443, 80]],
    ['[0:0::1]:8080', '[::1]:8080', [8080]],
    ['bücher.example', 'xn--bcher-kva.example', [443, 80]],
    ['localhost', 'localhost', [443, 80]],
    ['a_b.example.com', 'a_b.example.com', [443, 80]],
  ];
  for (const [written, text, ports] of cases) {
    const e = entry(written);
    assert.equal(e.text, text, written);
    assert.deepEqual([...e.ports], ports, written);
  }
  assert.equal(entry('*.example.com').wildcard, true);
  assert.equal(entry('*.example.com').host, 'example.com');
});

test('bad entries are refused with a reason and the accepted forms', () => {
  const cases: [string, RegExp][] = [
    ['', /is empty/],
    ['https://registry.npmjs.org', /without scheme/],
    ['registry.npmjs.org/path', /without scheme, user, path/],
    ['user@example.com', /without scheme, user/],
    ['*', /every host.*egress: open/],
    ['*:443', /every host/],
    ['foo*.example.com', /not a leading `\*\.` label/],
    ['*.*.example.com', /not a leading/],
    ['example.com:0', /invalid port/],
    ['example.com:65536', /invalid port/],
    ['example.com:', /invalid port/],
    ['example.com:http', /invalid port/],
    ['::1', /IPv6.*brackets/],
    ['[::1]:', /invalid port/],
    ['[not-v6]', /not a valid host/],
    ['exa mple.com', /not a valid host/],
    ['%65xample.com', /not a valid host/],
    ['a..example.com', /not a valid host/],
    ['example.com..', /not a valid host/],
    ['.example.com', /not a valid host/],
    ['*.10.0.0.1', /wildcard on an IP address/],
    ['*.[::1]', /IPv6|wildcard on an IP address|not a valid host/],
  ];
  for (const [written, reason] of cases) {
    const parsed = parseEgressEntry(written);
    assert.ok('error' in parsed, `${JSON.stringify(written)} should be refused`);
    assert.match(parsed.error, reason, written);
    assert.match(parsed.error, /expected host \(ports 443 and 80\), host:port/, written);
  }
});

test('parseEgressEntries keeps order, drops duplicates by canonical form, numbers errors', () => {
  const { entries, errors } = parseEgressEntries(['a.com', 'A.com.', 'bad/x', 'b.com:1']);
  assert.deepEqual(entries.map((e) => e.text), ['a.com', 'b.com:1']);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /^entry 3: "bad\/x"/);
});

test('the matcher: hosts, wildcards, ports', () => {
  const list = ['registry.npmjs.org', '*.githubusercontent.com', 'api.example.com:8443', '172.17.0.1:9999', '[::1]:8080'].map(entry);
  const cases: [string, number, string | undefined][] = [
    ['registry.npmjs.org', 443, 'registry.npmjs.org'],
    ['registry.npmjs.org', 80, 'registry.npmjs.org'],
    ['registry.npmjs.org', 8080, undefined], // a bare host means 443 and 80 only
    ['npmjs.org', 443, undefined],
    ['evil-registry.npmjs.org', 443, undefined],
    ['registry.npmjs.org.evil.com', 443, undefined],
    ['raw.githubusercontent.com', 443, '*.githubusercontent.com'],
    ['a.b.githubusercontent.com', 443, '*.githubusercontent.com'],
    ['githubusercontent.com', 443, undefined], // the wildcard is strictly below the domain
    ['xgithubusercontent.com', 443, undefined],
    ['api.example.com', 8443, 'api.example.com:8443'],
    ['api.example.com', 443, undefined], // host:port is that port only
    ['172.17.0.1', 9999, '172.17.0.1:9999'],
    ['172.17.0.1', 443, undefined],
    ['[::1]', 8080, '[::1]:8080'],
    ['[::1]', 443, undefined],
  ];
  for (const [host, port, want] of cases) {
    assert.equal(matchEgress(list, host, port)?.text, want, `${host}:${port}`);
  }
});

test('the matcher compares canonical forms: case, trailing dots, numeric IPv4, IDN', () => {
  const list = ['Example.com', '127.0.0.1:9000', 'bücher.example'].map(entry);
  const at = (written: string, port: number) => {
    const host = canonicalHost(written);
    return host === null ? 'invalid' : matchEgress(list, host, port)?.text;
  };
  assert.equal(at('EXAMPLE.COM', 443), 'example.com');
  assert.equal(at('example.com.', 443), 'example.com');
  assert.equal(at('example.com..', 443), 'invalid');
  assert.equal(at('2130706433', 9000), '127.0.0.1:9000');
  assert.equal(at('0x7f.0.0.1', 9000), '127.0.0.1:9000');
  assert.equal(at('xn--bcher-kva.example', 443), 'xn--bcher-kva.example');
  assert.equal(at('BÜCHER.example', 443), 'xn--bcher-kva.example');
  assert.equal(at('exa%6dple.com', 443), 'invalid');
});

test('wildcards never match IP addresses', () => {
  // A name-shaped suffix that is also the tail of a dotted quad must not let an address through.
  const list = [entry('*.0.1.example')];
  assert.equal(matchEgress(list, '10.0.1.example', 443)?.text, '*.0.1.example');
  assert.equal(canonicalHost('10.0.0.1'), '10.0.0.1');
  assert.equal(matchEgress([entry('*.com')], '10.0.0.1', 443), undefined);
});

test('IPv6 literals: canonical, bracketed, never matched by a name entry', () => {
  assert.equal(canonicalHost('[0:0:0:0:0:0:0:1]'), '[::1]');
  assert.equal(canonicalHost('[::ffff:127.0.0.1]'), '[::ffff:7f00:1]');
  assert.equal(canonicalHost('::1'), null);
  assert.equal(matchEgress([entry('127.0.0.1')], '[::ffff:7f00:1]', 443), undefined);
});

test('splitAuthority reads CONNECT targets', () => {
  assert.deepEqual(splitAuthority('example.com:443'), { host: 'example.com', port: 443 });
  assert.deepEqual(splitAuthority('[::1]:8080'), { host: '[::1]', port: 8080 });
  for (const bad of ['example.com', 'example.com:', 'example.com:0', 'example.com:99999', '::1:443', 'a:b:443', '[::1]', ':443x']) {
    assert.equal(splitAuthority(bad), null, bad);
  }
});
