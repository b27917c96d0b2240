import { describe, expect, it } from 'vitest';
import type { AnomalyCode } from '../../../src/anomalies';
import type { Direction } from '../../../src/flow/direction';
import { SshDissector, sshFactory, MAX_BANNER_LINE } from '../../../dissectors/ssh/ssh-dissector';
import { ProbeResult } from '../../../dissectors/types';
import { NEWKEYS, ascii, concat, hex, kexInitPayload, sshPacket } from './fixtures';
import { stampOf } from '../../../src/flow/packet-stamp';

function make(): { d: SshDissector; anomalies: AnomalyCode[] } {
  const anomalies: AnomalyCode[] = [];
  return { d: new SshDissector((c) => anomalies.push(c)), anomalies };
}

function feedAll(d: SshDissector, dir: Direction, bytes: Uint8Array, frame = 1): void {
  d.feed(dir, bytes, 0, bytes.length, stampOf(1700000000, frame));
}

/*
 * A client KEXINIT packet (160 bytes; packet_length 0x9c = 156, padding 11, message 0x14 = 20):
 * 0000  00 00 00 9c 0b 14 11 11 11 11 11 11 11 11 11 11  ................
 * 0010  11 11 11 11 11 11 00 00 00 11 63 75 72 76 65 32  ..........curve2
 * 0020  35 35 31 39 2d 73 68 61 32 35 36 00 00 00 0b 73  5519-sha256....s
 * 0030  73 68 2d 65 64 32 35 35 31 39 00 00 00 0a 61 65  sh-ed25519....ae
 * 0040  73 31 32 38 2d 63 74 72 00 00 00 0a 61 65 73 31  s128-ctr....aes1
 * 0050  32 38 2d 63 74 72 00 00 00 0d 68 6d 61 63 2d 73  28-ctr....hmac-s
 * 0060  68 61 32 2d 32 35 36 00 00 00 0d 68 6d 61 63 2d  ha2-256....hmac-
 * 0070  73 68 61 32 2d 32 35 36 00 00 00 04 6e 6f 6e 65  sha2-256....none
 * 0080  00 00 00 04 6e 6f 6e 65 00 00 00 00 00 00 00 00  ....none........
 * 0090  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
 */
const SMALL_KEXINIT = hex(
  '0000009c0b14111111111111111111111111111111110000001163757276653235353139' +
    '2d7368613235360000000b7373682d656432353531390000000a6165733132382d637472' +
    '0000000a6165733132382d6374720000000d686d61632d736861322d3235360000000d68' +
    '6d61632d736861322d323536000000046e6f6e65000000046e6f6e650000000000000000' +
    '00000000000000000000000000000000',
);
/** md5("curve25519-sha256;aes128-ctr;hmac-sha2-256;none") */
const SMALL_HASSH = 'e97d07603350d1111ec2b64bf25413c9';

const CLIENT_BANNER = ascii('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n');
const SERVER_BANNER = ascii('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n');

const SERVER_KEXINIT = sshPacket(
  kexInitPayload([
    'curve25519-sha256,diffie-hellman-group14-sha256',
    'rsa-sha2-512,ssh-ed25519',
    'aes128-ctr',
    'chacha20-poly1305@openssh.com,aes256-gcm@openssh.com',
    'hmac-sha2-256',
    'umac-128-etm@openssh.com',
    'none',
    'none,zlib@openssh.com',
    '',
    '',
  ]),
);

describe('sshFactory.probe', () => {
  it('matches a client banner and waits on a prefix of it', () => {
    expect(sshFactory.probe(0, ascii('SSH-2.0-x\r\n'), 0, 11)).toBe(ProbeResult.MATCH);
    expect(sshFactory.probe(0, ascii('SS'), 0, 2)).toBe(ProbeResult.NEED_MORE);
    expect(sshFactory.probe(0, ascii('GET / HTTP/1.1\r\n'), 0, 16)).toBe(ProbeResult.NO_MATCH);
    expect(sshFactory.probe(0, hex('16030100'), 0, 4)).toBe(ProbeResult.NO_MATCH);
    expect(sshFactory.probe(0, new Uint8Array(0), 0, 0)).toBe(ProbeResult.NEED_MORE);
  });

  it('lets a server send text lines before its banner (RFC 4253 §4.2)', () => {
    const b = ascii('Welcome to node-1\r\nAuthorised use only\r\nSSH-2.0-OpenSSH_9.2\r\n');
    expect(sshFactory.probe(1, b, 0, b.length)).toBe(ProbeResult.MATCH);
    expect(sshFactory.probe(1, b, 0, 30)).toBe(ProbeResult.NEED_MORE);
    // the client may not do that
    expect(sshFactory.probe(0, b, 0, b.length)).toBe(ProbeResult.NO_MATCH);
    // binary before a banner is not SSH; nor is text beyond the probe window
    expect(sshFactory.probe(1, hex('00000c0a15'), 0, 5)).toBe(ProbeResult.NO_MATCH);
    const long = ascii('x'.repeat(1100));
    expect(sshFactory.probe(1, long, 0, long.length)).toBe(ProbeResult.NO_MATCH);
  });

  it('looks only at the given range', () => {
    const b = ascii('xxSSH-2.0-a\r\n');
    expect(sshFactory.probe(0, b, 2, b.length)).toBe(ProbeResult.MATCH);
  });
});

describe('SshDissector', () => {
  it('reads banners, skipping lines the server sends before its own', () => {
    const { d, anomalies } = make();
    feedAll(d, 1, ascii('Welcome\r\nthis host is monitored\r\nSSH-1.99-Cisco-1.25\r\n'));
    feedAll(d, 0, CLIENT_BANNER);
    const r = d.result();
    expect(r.serverBanner).toBe('SSH-1.99-Cisco-1.25');
    expect(r.serverProtocol).toBe('1.99');
    expect(r.clientBanner).toBe('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3');
    expect(r.clientProtocol).toBe('2.0');
    expect(anomalies).toEqual([]);
  });

  it('accepts an LF-only banner and keeps its comment', () => {
    const { d } = make();
    feedAll(d, 0, ascii('SSH-2.0-PuTTY_Release_0.78 some comment\n'));
    expect(d.result().clientBanner).toBe('SSH-2.0-PuTTY_Release_0.78 some comment');
  });

  it('bounds a too long banner and reports it', () => {
    const { d, anomalies } = make();
    const long = 'SSH-2.0-' + 'A'.repeat(400);
    feedAll(d, 0, ascii(long + '\r\n'));
    feedAll(d, 0, SMALL_KEXINIT);
    const r = d.result();
    expect(anomalies).toEqual(['ssh.banner_too_long']);
    expect(r.clientBanner).toBe(long.slice(0, MAX_BANNER_LINE));
    // the packets after the banner are still found
    expect(r.hassh).toBe(SMALL_HASSH);
  });

  it('gives up on a peer that never sends a banner', () => {
    const { d, anomalies } = make();
    feedAll(d, 1, ascii('hello\n'.repeat(100)));
    expect(anomalies).toEqual(['ssh.no_banner']);
    expect(d.result().serverBanner).toBeNull();
    expect(d.result().bytes).toEqual([0, 600]);
  });

  it('parses a client KEXINIT into lists and its HASSH', () => {
    const { d, anomalies } = make();
    feedAll(d, 0, concat(CLIENT_BANNER, SMALL_KEXINIT));
    const r = d.result();
    expect(anomalies).toEqual([]);
    expect(r.clientKex).toEqual({
      kex: ['curve25519-sha256'],
      hostKey: ['ssh-ed25519'],
      encCS: ['aes128-ctr'],
      encSC: ['aes128-ctr'],
      macCS: ['hmac-sha2-256'],
      macSC: ['hmac-sha2-256'],
      compCS: ['none'],
      compSC: ['none'],
    });
    expect(r.hasshAlgorithms).toBe('curve25519-sha256;aes128-ctr;hmac-sha2-256;none');
    expect(r.hassh).toBe(SMALL_HASSH);
    expect(r.hasshServer).toBeNull();
  });

  it('takes the server-to-client lists for HASSHServer', () => {
    const { d } = make();
    feedAll(d, 1, concat(SERVER_BANNER, SERVER_KEXINIT));
    const r = d.result();
    expect(r.hasshServerAlgorithms).toBe(
      'curve25519-sha256,diffie-hellman-group14-sha256;chacha20-poly1305@openssh.com,aes256-gcm@openssh.com;' +
        'umac-128-etm@openssh.com;none,zlib@openssh.com',
    );
    expect(r.serverKex?.hostKey).toEqual(['rsa-sha2-512', 'ssh-ed25519']);
    expect(r.hasshServer).toMatch(/^[0-9a-f]{32}$/);
    expect(r.hassh).toBeNull();
  });

  it('reproduces the published HASSH of Cyberduck 6.7.1 (salesforce/hassh README)', () => {
    const kex =
      'curve25519-sha256@libssh.org,diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp521,ecdh-sha2-nistp384,' +
      'ecdh-sha2-nistp256,diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,' +
      'diffie-hellman-group14-sha256,diffie-hellman-group15-sha512,diffie-hellman-group16-sha512,' +
      'diffie-hellman-group17-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256@ssh.com,' +
      'diffie-hellman-group15-sha256,diffie-hellman-group15-sha256@ssh.com,diffie-hellman-group15-sha384@ssh.com,' +
      'diffie-hellman-group16-sha256,diffie-hellman-group16-sha384@ssh.com,diffie-hellman-group16-sha512@ssh.com,' +
      'diffie-hellman-group18-sha512@ssh.com';
    const enc =
      'aes128-cbc,aes128-ctr,aes192-cbc,aes192-ctr,aes256-cbc,aes256-ctr,blowfish-cbc,blowfish-ctr,cast128-cbc,' +
      'cast128-ctr,idea-cbc,idea-ctr,serpent128-cbc,serpent128-ctr,serpent192-cbc,serpent192-ctr,serpent256-cbc,' +
      'serpent256-ctr,3des-cbc,3des-ctr,twofish128-cbc,twofish128-ctr,twofish192-cbc,twofish192-ctr,twofish256-cbc,' +
      'twofish256-ctr,twofish-cbc,arcfour,arcfour128,arcfour256';
    const mac = 'hmac-sha1,hmac-sha1-96,hmac-md5,hmac-md5-96,hmac-sha2-256,hmac-sha2-512';
    const comp = 'zlib@openssh.com,zlib,none';
    const { d } = make();
    feedAll(d, 0, ascii('SSH-2.0-Cyberduck/6.7.1.28683 (Mac OS X/10.13.6) (x86_64)\r\n'));
    feedAll(d, 0, sshPacket(kexInitPayload([kex, 'ssh-rsa', enc, enc, mac, mac, comp, comp, '', ''])));
    expect(d.result().hassh).toBe('8a8ae540028bf433cd68356c1b9e8d5b');
  });

  it('switches a direction to byte counting after NEWKEYS and records the frame', () => {
    const { d, anomalies } = make();
    feedAll(d, 0, CLIENT_BANNER, 4);
    feedAll(d, 1, SERVER_BANNER, 5);
    feedAll(d, 0, SMALL_KEXINIT, 6);
    feedAll(d, 1, SERVER_KEXINIT, 7);
    // an ECDH init stand-in (message 30) is skipped by length
    feedAll(d, 0, sshPacket(concat(hex('1e'), new Uint8Array(36).fill(7))), 8);
    feedAll(d, 1, NEWKEYS, 9);
    feedAll(d, 0, NEWKEYS, 10);
    // encrypted packets: lengths are random-looking and must not be walked
    const junk = new Uint8Array(5000).fill(0xff);
    feedAll(d, 0, junk, 11);
    feedAll(d, 1, junk, 12);
    const r = d.result();
    expect(anomalies).toEqual([]);
    expect(r.encryptedFromFrame).toEqual([10, 9]);
    const clientBytes = CLIENT_BANNER.length + SMALL_KEXINIT.length + 48 + NEWKEYS.length + 5000;
    const serverBytes = SERVER_BANNER.length + SERVER_KEXINIT.length + NEWKEYS.length + 5000;
    expect(r.bytes).toEqual([clientBytes, serverBytes]);
    expect(r.hassh).toBe(SMALL_HASSH);
    expect(r.hasshServer).not.toBeNull();
  });

  it('reports an impossible packet length and stops walking that direction', () => {
    const { d, anomalies } = make();
    feedAll(d, 0, concat(CLIENT_BANNER, hex('7fffffff0414'), new Uint8Array(100)));
    feedAll(d, 0, SMALL_KEXINIT);
    expect(anomalies).toEqual(['ssh.bad_packet_length']);
    expect(d.result().hassh).toBeNull();
  });

  it('reports a KEXINIT whose name-lists overrun the packet', () => {
    const { d, anomalies } = make();
    // cookie then a name-list claiming 0x100 bytes inside a 32-byte payload
    const bad = sshPacket(concat(hex('14'), new Uint8Array(16), hex('00000100'), ascii('curve25519-sha2')));
    feedAll(d, 0, concat(CLIENT_BANNER, bad, SMALL_KEXINIT));
    expect(anomalies).toEqual(['ssh.malformed_kexinit']);
    // only the first KEXINIT of a direction counts
    expect(d.result().clientKex).toBeNull();
  });

  it('counts SSH-1 traffic without walking it', () => {
    const { d, anomalies } = make();
    feedAll(d, 1, ascii('SSH-1.5-OldServer\n'));
    feedAll(d, 1, hex('0000010c 0000000000000000 02 ffffffff'));
    feedAll(d, 0, ascii('SSH-1.5-OldClient\n'));
    expect(anomalies).toEqual([]);
    expect(d.result().serverProtocol).toBe('1.5');
    expect(d.result().bytes[1]).toBe(18 + 17);
  });

  it('treats a gap before encryption as lost framing', () => {
    const { d, anomalies } = make();
    feedAll(d, 0, CLIENT_BANNER);
    d.gap(0, 100);
    feedAll(d, 0, SMALL_KEXINIT);
    expect(anomalies).toEqual([]);
    expect(d.result().hassh).toBeNull();
    d.end(0);
    d.end(1);
  });

  it('gives the same result however the streams are split', () => {
    const client = concat(CLIENT_BANNER, SMALL_KEXINIT, NEWKEYS, new Uint8Array(64).fill(0xee));
    const server = concat(
      ascii('Pre-banner line\r\n'),
      SERVER_BANNER,
      SERVER_KEXINIT,
      NEWKEYS,
      new Uint8Array(64).fill(0xdd),
    );
    const run = (split: (d: SshDissector) => void): string => {
      const { d, anomalies } = make();
      split(d);
      return JSON.stringify({ r: d.result(), anomalies });
    };
    const whole = run((d) => {
      feedAll(d, 0, client);
      feedAll(d, 1, server);
    });
    expect(JSON.parse(whole).r.hassh).toBe(SMALL_HASSH);
    const bytewise = run((d) => {
      const n = Math.max(client.length, server.length);
      for (let i = 0; i < n; i++) {
        if (i < client.length) d.feed(0, client, i, i + 1, stampOf(0, 1));
        if (i < server.length) d.feed(1, server, i, i + 1, stampOf(0, 1));
      }
    });
    expect(bytewise).toBe(whole);
    for (const [dir, bytes, other] of [
      [0, client, server],
      [1, server, client],
    ] as const) {
      for (let k = 0; k <= bytes.length; k++) {
        const got = run((d) => {
          // a fresh copy per chunk: the dissector must not keep views of what it was fed
          d.feed(dir, bytes.slice(0, k), 0, k, stampOf(0, 1));
          d.feed((1 - dir) as Direction, other, 0, other.length, stampOf(0, 1));
          d.feed(dir, bytes.slice(k), 0, bytes.length - k, stampOf(0, 1));
        });
        if (got !== whole) expect({ dir, k, got }).toEqual({ dir, k, got: whole });
      }
    }
  });
});
