import type { DissectorFactory, DissectorId } from './types';
import { http1Factory } from './http/http1-dissector';
import { http2Factory } from './http2/http2-dissector';
import { sshFactory } from './ssh/ssh-dissector';
import { tlsFactory } from './tls/tls-dissector';
import { dnsTcpFactory } from './dns/dns-tcp-dissector';

/**
 * Every dissector planewatch can pin to a connection, in probe order (the port table's choice is
 * tried first, then these in order). Add a protocol here and it is probed on every port.
 * HTTP/1 continues as HTTP/2 itself after `Upgrade: h2c` (its result then holds version "2" records).
 */
export const FACTORIES: readonly DissectorFactory[] = [tlsFactory, http1Factory, http2Factory, sshFactory, dnsTcpFactory];

/** The registered factory with this id, if any. */
export function factoryById(id: DissectorId): DissectorFactory | undefined {
  for (const f of FACTORIES) if (f.id === id) return f;
  return undefined;
}
