import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LABEL_SESSION } from '../../launcher/core/labels.js';

test('label keys live under one prefix', () => {
  assert.equal(LABEL_SESSION, 'dev.tongs.session');
});
