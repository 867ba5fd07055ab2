import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aesGcmDecrypt, aesGcmEncrypt, AuthenticationTagMismatchError } from '../../src/crypto/aes-gcm.js';
import { buildEkmAad, computeCdiv } from '../../src/xks/aad.js';
import { decodeCiphertextMetadata, encodeCiphertextMetadata } from '../../src/xks/ciphertext-metadata.js';
import { decodedLength, isStrictBase64 } from '../../src/xks/base64.js';

const b64 = (s: string) => Buffer.from(s, 'base64');
const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const plaintext = Buffer.from('Hello World!');
const specAad = Buffer.from('project=nile,department=marketing');
const specCm = Buffer.from('key_version=1');

describe('EKM AAD and CDIV (docs/requirements.md#aad, #cdiv, #crypto-vectors)', () => {
  it('44: builds u16be(len AAD)‖AAD‖u8(len CM)‖CM exactly as the spec worked example', () => {
    const expected = '0021' + specAad.toString('hex') + '0d' + specCm.toString('hex');
    assert.equal(buildEkmAad(specAad, specCm).toString('hex'), expected);
    assert.equal(buildEkmAad(specAad, specCm).length, 49);
  });

  it('44: absent AAD and CM give 00 00 00', () => {
    assert.equal(buildEkmAad(undefined, undefined).toString('hex'), '000000');
  });

  for (const vector of [
    {
      id: 'V1',
      aad: specAad,
      cm: specCm,
      iv: 'AAECAwQFBgcICQoL',
      ct: 'D2e6d6rFlXT/LfOq',
      tag: 'z16Jpi+YEVrPfy7xOkRNVw==',
      cdiv: 'f3I7NWF4DGjk7+jfvjeSU5DvQJDKZ/RQztaBma/YHso=',
    },
    {
      id: 'V2',
      aad: undefined,
      cm: undefined,
      iv: 'AAECAwQFBgcICQoL',
      ct: 'D2e6d6rFlXT/LfOq',
      tag: '+DX8ZJOvQVMTeK7gwOAsdg==',
      cdiv: 'doMOaf+m+SLxEOfkUsWQLZ7ogxHdDMkxCl3238JWldo=',
    },
    {
      id: 'V3',
      aad: specAad,
      cm: undefined,
      iv: 'AAECAwQFBgcICQoLDA0ODw==',
      ct: 'LwnMGlbEHUfvk78I',
      tag: 'OheLyRZmbUXStFeE+VAGlg==',
      cdiv: '3fxoKuvisUDYBUZ5ly+3lvK5K8vbQU4y2gbaWFFEaxg=',
    },
  ]) {
    it(`44/46/49: test vector ${vector.id} encrypts, decrypts and gives the CDIV`, () => {
      const iv = b64(vector.iv);
      const { ciphertext, tag } = aesGcmEncrypt(key, iv, plaintext, buildEkmAad(vector.aad, vector.cm));
      assert.equal(ciphertext.toString('base64'), vector.ct);
      assert.equal(tag.toString('base64'), vector.tag);
      assert.deepEqual(aesGcmDecrypt(key, iv, ciphertext, buildEkmAad(vector.aad, vector.cm), tag), plaintext);
      assert.equal(computeCdiv({ aad: vector.aad, ciphertextMetadata: vector.cm, iv, ciphertext, tag }), vector.cdiv);
    });
  }

  it('49: reproduces the spec CDIV example byte for byte', () => {
    const cdiv = computeCdiv({
      aad: specAad,
      ciphertextMetadata: specCm,
      iv: b64('HMrlRw85cAJUd5Ax'),
      ciphertext: b64('ghxkK1txeDNn3q8Y'),
      tag: b64('vBxN2ncH1oEkR8WVXpmyYQ=='),
    });
    assert.equal(cdiv, 'qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=');
  });

  it('44: the confusion attack fails: encrypt with no AAD and CM, decrypt with AAD := CM and no CM', () => {
    const iv = b64('AAECAwQFBgcICQoL');
    const { ciphertext, tag } = aesGcmEncrypt(key, iv, plaintext, buildEkmAad(undefined, specCm));
    assert.throws(() => aesGcmDecrypt(key, iv, ciphertext, buildEkmAad(specCm, undefined), tag), AuthenticationTagMismatchError);
  });
});

describe('ciphertextMetadata format', () => {
  it('42/45: is 5 bytes (≤ 20): a format byte then the version', () => {
    const encoded = encodeCiphertextMetadata(7);
    assert.equal(encoded.length, 5);
    assert.equal(encoded[0], 1);
    assert.deepEqual(decodeCiphertextMetadata(encoded), { version: 7 });
  });

  it('45: refuses metadata of another format or version 0', () => {
    assert.equal(decodeCiphertextMetadata(undefined), undefined);
    assert.equal(decodeCiphertextMetadata(Buffer.from('key_version=1')), undefined);
    assert.equal(decodeCiphertextMetadata(Buffer.from([2, 0, 0, 0, 1])), undefined);
    assert.equal(decodeCiphertextMetadata(Buffer.from([1, 0, 0, 0, 0])), undefined);
  });
});

describe('strict Base64 (docs/requirements.md#base64)', () => {
  it('accepts standard padded Base64 and the empty string', () => {
    for (const ok of ['', 'SGVsbG8gV29ybGQh', 'YQ==', 'YWI=', 'a2V5X3ZlcnNpb249MQ==']) assert.ok(isStrictBase64(ok), ok);
  });
  it('rejects URL-safe, unpadded, junk, misplaced padding and non-canonical bits', () => {
    for (const bad of ['YQ', 'YWI', 'a-_b', 'ab c', 'YQ==YQ==', '=YQ=', 'YR==', 'SGVsbG8gV29ybGQh\n', 'YQ=']) {
      assert.equal(isStrictBase64(bad), false, bad);
    }
  });
  it('computes decoded lengths without decoding', () => {
    assert.equal(decodedLength(''), 0);
    assert.equal(decodedLength('YQ=='), 1);
    assert.equal(decodedLength('YWI='), 2);
    assert.equal(decodedLength(Buffer.alloc(4300).toString('base64')), 4300);
  });
});
