/**
 * Layer merge (issue #2 item 3) and alias collisions (issue #2 item 4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findAliasCollisions } from '../../launcher/core/aliases.js';
import { mergeLayers } from '../../launcher/core/layers.js';
import type { LayerName } from '../../launcher/core/plan-types.js';
import { validateDefinition, type ValidatedTong } from '../../launcher/core/validate.js';

/** A validated definition from YAML text; fails the test on any problem. */
function def(layer: LayerName, name: string, yaml: string): ValidatedTong {
  const result = validateDefinition({ layer, name, file: `/${layer}/${name}.yaml`, displayPath: `${layer}/${name}.yaml`, source: yaml });
  if (!('tong' in result)) throw new Error(result.problems.join('\n'));
  return result.tong;
}

const summary = (tongs: readonly ValidatedTong[]) => tongs.map((t) => `${t.name}@${t.layer}:${t.definition.image}`);

test('merge: distinct names from every layer are all kept, sorted by name', () => {
  const { tongs, warnings } = mergeLayers([
    def('workspace', 'd', 'image: d\n'),
    def('user', 'b', 'image: b\n'),
    def('org', 'a', 'image: a\n'),
    def('repo', 'c', 'image: c\n'),
  ]);
  assert.deepEqual(summary(tongs), ['a@org:a', 'b@user:b', 'c@repo:c', 'd@workspace:d']);
  assert.deepEqual(warnings, []);
});

test('merge: a higher layer replaces a same-named tong whole (no field merge)', () => {
  const { tongs } = mergeLayers([
    def('repo', 'gh', 'image: repo-img\nenv: {A: "1"}\ninterface: {kind: port, port: 1}\n'),
    def('user', 'gh', 'image: user-img\nenv: {B: "2"}\n'),
  ]);
  assert.deepEqual(summary(tongs), ['gh@repo:repo-img']);
  // Replaced whole: the user layer's env does not leak into the repo definition.
  assert.deepEqual(tongs[0]?.definition.env, { A: '1' });
  const org = mergeLayers([def('user', 'gh', 'image: user-img\nenv: {B: "2"}\n'), def('org', 'gh', 'image: org-img\n')]);
  assert.deepEqual(summary(org.tongs), ['gh@org:org-img']);
  assert.equal(org.tongs[0]?.definition.env, undefined);
});

test('merge: disable: true removes the tong of lower layers', () => {
  const { tongs } = mergeLayers([def('user', 'gh', 'image: a\n'), def('repo', 'gh', 'disable: true\n'), def('repo', 'x', 'image: x\n')]);
  assert.deepEqual(summary(tongs), ['x@repo:x']);
});

test('merge: a tong disabled in one layer can be re-added by a higher layer', () => {
  const { tongs } = mergeLayers([def('user', 'gh', 'image: a\n'), def('org', 'gh', 'disable: true\n'), def('repo', 'gh', 'image: b\n')]);
  assert.deepEqual(summary(tongs), ['gh@repo:b']);
});

test('merge: a full definition with disable: true removes itself too', () => {
  const { tongs } = mergeLayers([def('user', 'gh', 'image: a\n'), def('org', 'gh', 'image: b\ndisable: true\n')]);
  assert.deepEqual(tongs, []);
});

test('merge: the workspace layer may disable a trusted tong', () => {
  const { tongs, warnings } = mergeLayers([def('repo', 'gh', 'image: a\n'), def('workspace', 'gh', 'disable: true\n')]);
  assert.deepEqual(tongs, []);
  assert.deepEqual(warnings, []);
});

test('merge: the workspace layer may not redefine a trusted tong; the trusted one is kept, with a warning', () => {
  const { tongs, warnings } = mergeLayers([def('repo', 'gh', 'image: trusted\n'), def('workspace', 'gh', 'image: evil\n')]);
  assert.deepEqual(summary(tongs), ['gh@repo:trusted']);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /workspace definition workspace\/gh\.yaml may not redefine the repo tong 'gh' \(repo\/gh\.yaml\); keeping the repo one/);
});

test('merge: the workspace layer may add tongs of its own', () => {
  const { tongs, warnings } = mergeLayers([def('user', 'a', 'image: a\n'), def('workspace', 'w', 'image: w\n')]);
  assert.deepEqual(summary(tongs), ['a@user:a', 'w@workspace:w']);
  assert.deepEqual(warnings, []);
});

test('collisions: two mcp tongs with one interface.name are refused, naming both', () => {
  const { tongs } = mergeLayers([
    def('repo', 'github', 'image: a\ninterface: {kind: mcp, port: 1, name: gh}\n'),
    def('user', 'gh-enterprise', 'image: b\ninterface: {kind: mcp, port: 2, name: gh}\n'),
  ]);
  assert.deepEqual(findAliasCollisions(tongs), [
    "alias 'gh' is claimed by 2 tongs: gh-enterprise (user layer, user/gh-enterprise.yaml; canonical), github (repo layer, repo/github.yaml; canonical)",
  ]);
});

test('collisions: an mcp name against a port tong name', () => {
  const { tongs } = mergeLayers([
    def('repo', 'db', 'image: a\ninterface: {kind: port, port: 5432}\n'),
    def('repo', 'x', 'image: b\ninterface: {kind: mcp, port: 2, name: db}\n'),
  ]);
  const lines = findAliasCollisions(tongs);
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', /^alias 'db' is claimed by 2 tongs: db \(repo layer, repo\/db\.yaml; canonical\), x \(repo layer, repo\/x\.yaml; canonical\)$/);
});

test('collisions: an extra alias against a canonical one, and one line per alias', () => {
  const { tongs } = mergeLayers([
    def('repo', 'github', 'image: a\ninterface: {kind: mcp, port: 1, name: github, aliases: [gh, git]}\n'),
    def('org', 'gh', 'image: b\ninterface: {kind: port, port: 2, aliases: [git]}\n'),
    def('user', 'git', 'image: c\n'),
  ]);
  const lines = findAliasCollisions(tongs);
  assert.deepEqual(lines.map((l) => l.split(' is claimed')[0]), ["alias 'gh'", "alias 'git'"]);
  assert.match(lines[0] ?? '', /gh \(org layer, org\/gh\.yaml; canonical\), github \(repo layer, repo\/github\.yaml; interface\.aliases\)/);
  // Three claimants of 'git': the kind none tong's own name, and two extra aliases.
  assert.match(lines[1] ?? '', /^alias 'git' is claimed by 3 tongs: gh \(org layer, org\/gh\.yaml; interface\.aliases\), git \(user layer, user\/git\.yaml; canonical\), github \(repo layer, repo\/github\.yaml; interface\.aliases\)$/);
});

test('collisions: none when every alias is unique; a disabled tong claims nothing', () => {
  const { tongs } = mergeLayers([
    def('repo', 'github', 'image: a\ninterface: {kind: mcp, port: 1, name: github, aliases: [gh]}\n'),
    def('repo', 'gh', 'image: b\n'),
    def('workspace', 'gh', 'disable: true\n'),
  ]);
  assert.deepEqual(findAliasCollisions(tongs), []);
});
