/**
 * Stored SSH sessions as Zeek's ssh.log: the protocol version and both sides' software from their
 * banners, and HASSH/HASSHServer as the hassh package for Zeek logs them. What the encrypted part
 * of the session would tell (authentication, the algorithms chosen, the host key) is unset.
 */
import { CONNECTION_FIELDS, connectionValues, orUnset, type ZeekLogSpec, type ZeekRecord, type ZeekValue } from './zeek-log';

export const ZEEK_SSH_COLUMNS = `fl.first_ts AS ts, fl.flow_key AS uid, fl.client_ip AS orig_h, fl.client_port AS orig_p,
  fl.server_ip AS resp_h, fl.server_port AS resp_p, s.client_banner, s.server_banner, s.hassh, s.hassh_server, fl.path AS flow_path`;

export const ZEEK_SSH_FROM = 'ssh_sessions s JOIN flows fl ON fl.id = s.flow_id';

export interface ZeekSshRow {
  ts: number; uid: string; orig_h: string; orig_p: number; resp_h: string; resp_p: number; client_banner: string | null;
  server_banner: string | null; hassh: string | null; hassh_server: string | null; flow_path: string | null;
}

export const SSH_LOG: ZeekLogSpec = { path: 'ssh', fields: [
  ...CONNECTION_FIELDS,
  ['version', 'count'], ['auth_success', 'bool'], ['auth_attempts', 'count'], ['direction', 'enum'], ['client', 'string'],
  ['server', 'string'], ['cipher_alg', 'string'], ['mac_alg', 'string'], ['compression_alg', 'string'], ['kex_alg', 'string'],
  ['host_key_alg', 'string'], ['host_key', 'string'], ['hassh', 'string'], ['hasshServer', 'string'], ['planewatch_path', 'string'],
] };

/** The protocol version a banner announces: 2 for SSH-2.0 and SSH-1.99 (which speaks 2), 1 for SSH-1.x. */
function bannerVersion(banner: string | null): number | undefined {
  const m = banner !== null ? /^SSH-(\d+)\.(\d+)-/.exec(banner) : null;
  if (m === null) return undefined;
  return m[1] === '2' || (m[1] === '1' && m[2] === '99') ? 2 : Number(m[1]);
}

export function zeekSshFields(r: ZeekSshRow): ZeekRecord {
  // The version both spoke: the server's when it answers a 1.99 client with 2.0, as Zeek takes it.
  const version = bannerVersion(r.server_banner) ?? bannerVersion(r.client_banner);
  return new Map<string, ZeekValue>([
    ...connectionValues(r),
    ['version', version], ['client', orUnset(r.client_banner)], ['server', orUnset(r.server_banner)],
    ['hassh', orUnset(r.hassh)], ['hasshServer', orUnset(r.hassh_server)], ['planewatch_path', orUnset(r.flow_path)],
  ]);
}
